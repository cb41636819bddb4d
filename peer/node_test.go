package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/raft"
)

// liveCluster runs members with the demo's board. Each member's transport
// is wrapped so that a test can cut its links; storage survives restarts
// (as a disk would).
type liveCluster struct {
	t      testing.TB
	env    clusterEnv
	ids    []raft.NodeID
	stores map[raft.NodeID]Storage
	boards map[raft.NodeID]*board.Board
	nodes  map[raft.NodeID]*Node
	links  map[raft.NodeID]*switchable
	closes map[raft.NodeID]func()
}

// clusterEnv says where members keep their logs and how they talk.
type clusterEnv struct {
	// transport connects member id.
	transport func(t testing.TB, id raft.NodeID) Transport
	// storage opens member id's storage (again, after a restart) and
	// returns how to close it.
	storage func(t testing.TB, id raft.NodeID) (Storage, func())
	tick    time.Duration
	// snapshotEvery is the compaction policy in entries (0: the core's
	// default). Tests snapshot often, to exercise it; benchmarks do not.
	snapshotEvery uint64
}

// memTransports connects members through a MemNetwork.
func memTransports() func(testing.TB, raft.NodeID) Transport {
	net := NewMemNetwork(4096)
	return func(_ testing.TB, id raft.NodeID) Transport { return net.Join(id) }
}

// memStorages keeps each member's MemoryStorage across its restarts.
func memStorages() func(testing.TB, raft.NodeID) (Storage, func()) {
	stores := map[raft.NodeID]*raft.MemoryStorage{}
	return func(_ testing.TB, id raft.NodeID) (Storage, func()) {
		if stores[id] == nil {
			stores[id] = raft.NewMemoryStorage()
		}
		return stores[id], func() {}
	}
}

// memEnv is all in memory, with a fast clock to keep the tests short.
func memEnv() clusterEnv {
	return clusterEnv{transport: memTransports(), storage: memStorages(), tick: time.Millisecond, snapshotEvery: 500}
}

func newLiveCluster(t *testing.T, size int) *liveCluster { return newClusterIn(t, size, memEnv()) }

func newClusterIn(t testing.TB, size int, env clusterEnv) *liveCluster {
	c := &liveCluster{t: t, env: env, stores: map[raft.NodeID]Storage{},
		boards: map[raft.NodeID]*board.Board{}, nodes: map[raft.NodeID]*Node{},
		links: map[raft.NodeID]*switchable{}, closes: map[raft.NodeID]func(){}}
	for i := 1; i <= size; i++ {
		c.ids = append(c.ids, raft.NodeID(i))
	}
	for _, id := range c.ids {
		c.start(id)
	}
	t.Cleanup(c.stopAll)
	return c
}

func (c *liveCluster) start(id raft.NodeID) {
	c.t.Helper()
	c.boards[id] = board.New()
	c.stores[id], c.closes[id] = c.env.storage(c.t, id)
	c.links[id] = newSwitchable(c.env.transport(c.t, id))
	n, err := Start(context.Background(), Config{
		Raft: raft.Config{ID: id, Voters: c.ids, Rand: rand.New(rand.NewPCG(uint64(id), 7)),
			SnapshotEntries: c.env.snapshotEvery, CompactionKeepEntries: min(50, c.env.snapshotEvery)},
		Storage: c.stores[id], Transport: c.links[id], StateMachine: c.boards[id],
		TickInterval: c.env.tick,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		c.t.Fatalf("start %d: %v", id, err)
	}
	c.nodes[id] = n
}

// stop stops member id as a crash would, keeping its storage.
func (c *liveCluster) stop(id raft.NodeID) {
	c.nodes[id].Stop()
	c.closes[id]()
	delete(c.nodes, id)
}

func (c *liveCluster) stopAll() {
	for id := range c.nodes {
		c.stop(id)
	}
}

// isolate cuts every link of id; heal restores them.
func (c *liveCluster) isolate(id raft.NodeID) { c.links[id].off.Store(true) }
func (c *liveCluster) heal() {
	for _, l := range c.links {
		l.off.Store(false)
	}
}

// switchable is a Transport whose links a test can switch off: it then
// loses everything in both directions, like a cut network.
type switchable struct {
	Transport
	off  atomic.Bool
	in   chan raft.Message
	done chan struct{}
}

func newSwitchable(tr Transport) *switchable {
	s := &switchable{Transport: tr, in: make(chan raft.Message, 1024), done: make(chan struct{})}
	go func() {
		for {
			select {
			case m := <-tr.Inbox():
				if !s.off.Load() {
					select {
					case s.in <- m:
					case <-s.done:
						return
					}
				}
			case <-s.done:
				return
			}
		}
	}()
	return s
}

func (s *switchable) Send(m raft.Message) {
	if !s.off.Load() {
		s.Transport.Send(m)
	}
}

func (s *switchable) Inbox() <-chan raft.Message { return s.in }

func (s *switchable) Close() error {
	close(s.done)
	return s.Transport.Close()
}

// leader polls until one member leads, and returns it.
func (c *liveCluster) leader() raft.NodeID {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for id, n := range c.nodes {
			st, err := n.Status(context.Background())
			if err == nil && st.Role == raft.Leader {
				return id
			}
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
	c.t.Fatalf("no leader within 10 s")
	return raft.None
}

// write proposes through any member, retrying elsewhere on errors that say
// nothing was done (no leader) — like a client would.
func (c *liveCluster) write(key, val string) {
	c.t.Helper()
	op := board.Op{Kind: "set", Key: key, Value: val}.Encode()
	deadline := time.Now().Add(10 * time.Second)
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

// converge waits until every live member's board has the same hash and
// holds want cells.
func (c *liveCluster) converge(want int) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		hashes := map[string]bool{}
		ok := true
		for id := range c.nodes {
			var h string
			var cells int
			if _, err := c.read(id, func() any {
				h, cells = c.boards[id].Hash(), len(c.boards[id].Cells())
				return nil
			}); err != nil {
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

func TestLiveClusterReplicatesConcurrentWrites(t *testing.T) {
	c := newLiveCluster(t, 3)
	c.leader()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 125 {
				c.write(fmt.Sprintf("k%d-%d", w, i), "v")
			}
		}()
	}
	wg.Wait()
	c.converge(1000)
}

func TestLiveClusterSurvivesLeaderRestart(t *testing.T) {
	c := newLiveCluster(t, 3)
	for i := range 100 {
		c.write(fmt.Sprint("a", i), "1")
	}
	lead := c.leader()
	c.stop(lead)
	for i := range 100 {
		c.write(fmt.Sprint("b", i), "2")
	}
	c.start(lead) // from what it persisted
	c.converge(200)
}

func TestLiveClusterHealsPartition(t *testing.T) {
	c := newLiveCluster(t, 3)
	lead := c.leader()
	c.isolate(lead)
	for i := range 50 {
		c.write(fmt.Sprint("p", i), "x")
	}
	c.heal()
	c.converge(50)
}

func TestReadSeesCompletedWrites(t *testing.T) {
	c := newLiveCluster(t, 3)
	c.leader()
	c.write("k", "v1")
	for _, id := range c.ids {
		v, err := c.read(id, func() any { v, _ := c.boards[id].Get("k"); return v })
		if err != nil || v != "v1" {
			t.Fatalf("read on %d = %v, %v; want v1", id, v, err)
		}
	}
}

// read reads on member id like a client would: while no leader is known
// (an election under way on a busy machine), it asks again.
func (c *liveCluster) read(id raft.NodeID, query func() any) (any, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := c.nodes[id].Read(context.Background(), query)
		if !errors.Is(err, ErrNoLeader) || time.Now().After(deadline) {
			return v, err
		}
		time.Sleep(5 * time.Millisecond) // back-off between attempts, as a client would
	}
}

func TestProposeWithoutQuorumTimesOut(t *testing.T) {
	c := newLiveCluster(t, 3)
	lead := c.leader()
	for _, id := range c.ids {
		c.isolate(id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.nodes[lead].Propose(ctx, board.Op{Kind: "set", Key: "k"}.Encode())
	if err == nil {
		t.Fatalf("write acknowledged without a quorum")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrNoLeader) {
		t.Fatalf("err = %v, want a deadline or no-leader error", err)
	}
}

func TestStoppedMemberRefuses(t *testing.T) {
	c := newLiveCluster(t, 1)
	c.leader()
	n := c.nodes[1]
	n.Stop()
	if _, err := n.Propose(context.Background(), []byte("x")); !errors.Is(err, ErrStopped) {
		t.Fatalf("Propose on a stopped member = %v, want ErrStopped", err)
	}
}

// TestWriteLostWithItsLeaderFailsFast: a write the leader appended while
// cut off is lost when a new leader takes over; the member learns it when
// it applies the new leader's entries, and fails the write at once with
// ErrLeaderChanged instead of leaving its caller to wait for a deadline.
func TestWriteLostWithItsLeaderFailsFast(t *testing.T) {
	c := newLiveCluster(t, 3)
	c.write("before", "1")
	old := c.leader()
	c.isolate(old)
	result := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err := c.nodes[old].Propose(ctx, board.Op{Kind: "set", Key: "lost", Value: "x"}.Encode())
		result <- err
	}()
	c.write("after", "2") // through the others, who elect a new leader
	c.heal()
	select {
	case err := <-result:
		if !errors.Is(err, ErrLeaderChanged) {
			t.Fatalf("the lost write ended with %v, want ErrLeaderChanged", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the lost write is still waiting 30 s after the partition healed")
	}
	c.converge(2)
	if _, ok := c.boards[old].Get("lost"); ok {
		t.Fatalf("the write reported lost was applied")
	}
}
