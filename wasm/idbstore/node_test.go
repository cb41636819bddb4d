//go:build js && wasm

package idbstore

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/raft"
)

// tabs is a cluster of live members in one page, each on its own Store
// (as tabs of one origin share IndexedDB), connected in memory.
type tabs struct {
	t      *testing.T
	room   string
	ids    []raft.NodeID
	net    *peer.MemNetwork
	nodes  map[raft.NodeID]*peer.Node
	stores map[raft.NodeID]*Store
	boards map[raft.NodeID]*board.Board
}

func newTabs(t *testing.T, n int) *tabs {
	c := &tabs{t: t, room: testName(t), net: peer.NewMemNetwork(4096),
		nodes: map[raft.NodeID]*peer.Node{}, stores: map[raft.NodeID]*Store{}, boards: map[raft.NodeID]*board.Board{}}
	for i := 1; i <= n; i++ {
		id := raft.NodeID(0x1000 + i)
		c.ids = append(c.ids, id)
		name := Name(c.room, id)
		if err := Delete(context.Background(), name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { Delete(context.Background(), name) })
	}
	for _, id := range c.ids {
		c.start(id)
	}
	t.Cleanup(func() {
		for id := range c.nodes {
			c.stop(id)
		}
	})
	return c
}

// start opens id's store and starts the member on it.
func (c *tabs) start(id raft.NodeID) {
	c.t.Helper()
	s := mustOpen(c.t, Name(c.room, id))
	b := board.New()
	n, err := peer.Start(context.Background(), peer.Config{
		Raft: raft.Config{ID: id, Voters: c.ids, Rand: rand.New(rand.NewPCG(uint64(id), 9)),
			SnapshotEntries: 40, CompactionKeepEntries: 10},
		Storage: s, Transport: c.net.Join(id), StateMachine: b,
		TickInterval: 2 * time.Millisecond,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		c.t.Fatalf("start %x: %v", id, err)
	}
	c.nodes[id], c.stores[id], c.boards[id] = n, s, b
}

// stop stops the member and closes its store, as a closed tab would.
func (c *tabs) stop(id raft.NodeID) {
	c.nodes[id].Stop()
	c.stores[id].Close()
	delete(c.nodes, id)
}

// write proposes through the members in turn until one applies it.
func (c *tabs) write(key, val string) {
	c.t.Helper()
	op := board.Op{Kind: "set", Key: key, Value: val}.Encode()
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		n := c.nodes[c.ids[i%len(c.ids)]]
		if n == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := n.Propose(ctx, op)
		cancel()
		if err == nil {
			if r := res.(board.Result); r.Err != "" {
				c.t.Fatalf("write refused: %s", r.Err)
			}
			return
		}
	}
	c.t.Fatalf("write %s=%s never acknowledged", key, val)
}

// converge polls until every running member's board holds want cells and
// all agree.
func (c *tabs) converge(want int) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		hashes := map[string]bool{}
		ok := true
		for id, n := range c.nodes {
			var h string
			var cells int
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := n.Read(ctx, func() any {
				h, cells = c.boards[id].Hash(), len(c.boards[id].Cells())
				return nil
			})
			cancel()
			if err != nil {
				ok = false
				break
			}
			hashes[h] = true
			ok = ok && cells == want
		}
		if ok && len(hashes) == 1 {
			return
		}
		last = fmt.Sprint(hashes)
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	c.t.Fatalf("members did not converge on %d cells: %s", want, last)
}

// TestMembersRestartFromIndexedDB runs three members on Stores, restarts
// one and then all of them from what IndexedDB holds (snapshots taken
// every 40 entries included), and checks that no write is lost.
func TestMembersRestartFromIndexedDB(t *testing.T) {
	c := newTabs(t, 3)
	cells := 0
	writes := func(n int) {
		for range n {
			c.write(fmt.Sprintf("px:%d", cells), fmt.Sprintf("#%06x", cells))
			cells++
		}
	}
	writes(60)
	c.converge(cells)

	c.stop(c.ids[0])
	writes(60)
	c.start(c.ids[0])
	c.converge(cells)

	for _, id := range c.ids {
		c.stop(id)
	}
	for _, id := range c.ids {
		c.start(id)
	}
	c.converge(cells)
	writes(10)
	c.converge(cells)
	for _, id := range c.ids {
		if snap, _ := c.stores[id].Snapshot(); snap.IsEmpty() {
			t.Errorf("member %x never compacted", id)
		}
	}
}
