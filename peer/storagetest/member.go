package storagetest

import (
	"bytes"
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

// Member is a single-voter raft.Node on a storage, driven synchronously
// in the test's goroutine, whose state machine records the commands it
// applies. The core takes a snapshot every 25 entries.
type Member struct {
	T       testing.TB
	Store   peer.Storage
	Node    *raft.Node
	Applied [][]byte // every command applied, in order
}

// StartMember starts member 1 on s, from what s holds.
func StartMember(t testing.TB, s peer.Storage) *Member {
	t.Helper()
	mb := &Member{T: t, Store: s}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Data) > 0 {
		mb.Applied = bytes.Split(snap.Data, []byte{'\n'})
	}
	mb.Node, err = raft.NewNode(&raft.Config{
		ID: 1, Voters: []raft.NodeID{1}, Storage: s,
		SnapshotEntries: 25, CompactionKeepEntries: 5,
	})
	if err != nil {
		t.Fatalf("NewNode: %v", err)
	}
	return mb
}

// Drive handles Readys until there are none: save, apply, advance, and
// compact when the core asks. It stops at the first storage error.
func (mb *Member) Drive() error {
	for mb.Node.HasReady() {
		rd := mb.Node.Ready()
		if err := mb.Store.Save(&rd); err != nil {
			return err
		}
		for _, e := range rd.CommittedEntries {
			if e.Type == raft.EntryNormal && len(e.Data) > 0 {
				mb.Applied = append(mb.Applied, e.Data)
			}
		}
		mb.Node.Advance()
		if mb.Node.ShouldCompact() {
			snap, err := mb.Node.Compact(bytes.Join(mb.Applied, []byte{'\n'}))
			if err != nil {
				mb.T.Fatalf("Node.Compact: %v", err)
			}
			if err := mb.Store.Compact(snap); err != nil {
				return err
			}
		}
	}
	return nil
}

// Lead makes the member leader (which commits its whole log again).
func (mb *Member) Lead() {
	mb.T.Helper()
	if err := mb.Node.Campaign(); err != nil {
		mb.T.Fatal(err)
	}
	if err := mb.Drive(); err != nil {
		mb.T.Fatal(err)
	}
	if st := mb.Node.Status(); st.Role != raft.Leader {
		mb.T.Fatalf("single member is %v after campaigning", st.Role)
	}
}

// Propose submits the commands "cmd <from>" to "cmd <to-1>", driving each
// to commit; it returns the first storage error.
func (mb *Member) Propose(from, to int) error {
	for i := from; i < to; i++ {
		if err := mb.Node.Propose(fmt.Appendf(nil, "cmd %d", i)); err != nil {
			mb.T.Fatal(err)
		}
		if err := mb.Drive(); err != nil {
			return err
		}
	}
	return nil
}

// Check fails the test unless exactly commands 0 to n-1 were applied.
func (mb *Member) Check(what string, n int) {
	mb.T.Helper()
	if len(mb.Applied) != n {
		mb.T.Fatalf("%s: %d commands applied, want %d", what, len(mb.Applied), n)
	}
	for i, c := range mb.Applied {
		if want := fmt.Sprintf("cmd %d", i); string(c) != want {
			mb.T.Fatalf("%s: command #%d is %q, want %q", what, i, c, want)
		}
	}
}

// testMember drives a raft.Node on a store, restarts it from the store
// (after Close, then after a crash) and checks that every committed
// command comes back.
func testMember(t *testing.T, h *Harness) {
	open := h.New(t)
	s := open(t)
	mb := StartMember(t, s)
	mb.Lead()
	if err := mb.Propose(0, 90); err != nil {
		t.Fatal(err)
	}
	mb.Check("first run", 90)
	if snap, _ := s.Snapshot(); snap.IsEmpty() {
		t.Fatal("no snapshot was taken")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t)
	mb = StartMember(t, s)
	mb.Lead()
	mb.Check("after a restart", 90)
	if err := mb.Propose(90, 130); err != nil {
		t.Fatal(err)
	}
	h.crash(t, s)

	s = open(t)
	defer s.Close()
	mb = StartMember(t, s)
	mb.Lead()
	mb.Check("after a crash", 130)
}

// cluster is three live members, each on its own store, connected in
// memory, with the demo's board as state machine.
type cluster struct {
	t      *testing.T
	ids    []raft.NodeID
	net    *peer.MemNetwork
	opens  map[raft.NodeID]func(testing.TB) Store
	nodes  map[raft.NodeID]*peer.Node
	stores map[raft.NodeID]Store
	boards map[raft.NodeID]*board.Board
}

func (c *cluster) start(id raft.NodeID) {
	c.t.Helper()
	s := c.opens[id](c.t)
	b := board.New()
	n, err := peer.Start(context.Background(), peer.Config{
		Raft: raft.Config{ID: id, Voters: c.ids, Rand: rand.New(rand.NewPCG(uint64(id), 9)),
			SnapshotEntries: 40, CompactionKeepEntries: 10},
		Storage: s, Transport: c.net.Join(id), StateMachine: b,
		TickInterval: 2 * time.Millisecond,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		s.Close()
		c.t.Fatalf("start %x: %v", id, err)
	}
	c.nodes[id], c.stores[id], c.boards[id] = n, s, b
}

// stop stops the member and closes its store.
func (c *cluster) stop(id raft.NodeID) {
	c.t.Helper()
	c.nodes[id].Stop()
	delete(c.nodes, id)
	if err := c.stores[id].Close(); err != nil {
		c.t.Errorf("closing the store of %x: %v", id, err)
	}
}

// write proposes through the members in turn until one applies it.
func (c *cluster) write(key, val string) {
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
			if r, ok := res.(board.Result); !ok || r.Err != "" {
				c.t.Fatalf("write refused: %v", res)
			}
			return
		}
	}
	c.t.Fatalf("write %s=%s never acknowledged", key, val)
}

// converge polls until every running member's board holds want cells and
// all agree.
func (c *cluster) converge(want int) {
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

// testMembers runs three live members on stores, restarts one and then
// all of them from their stores (snapshots taken every 40 entries
// included), and checks that no write is lost.
func testMembers(t *testing.T, h *Harness) {
	c := &cluster{t: t, net: peer.NewMemNetwork(4096), opens: map[raft.NodeID]func(testing.TB) Store{},
		nodes: map[raft.NodeID]*peer.Node{}, stores: map[raft.NodeID]Store{}, boards: map[raft.NodeID]*board.Board{}}
	for i := 1; i <= 3; i++ {
		id := raft.NodeID(0x1000 + i)
		c.ids = append(c.ids, id)
		c.opens[id] = h.New(t)
	}
	for _, id := range c.ids {
		c.start(id)
	}
	t.Cleanup(func() {
		for id := range c.nodes {
			c.stop(id)
		}
	})
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
