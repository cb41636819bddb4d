package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/raft"
)

// memRoom is an in-process room: a peer.MemNetwork whose members see who
// else is in the room (every member is linked to every other).
type memRoom struct {
	net *peer.MemNetwork
	mu  sync.Mutex
	in  map[raft.NodeID]bool
}

func newMemRoom() *memRoom { return newMemRoomSize(1024) }

// newMemRoomSize returns a room whose members' inboxes hold inbox messages
// (a full inbox drops).
func newMemRoomSize(inbox int) *memRoom {
	return &memRoom{net: peer.NewMemNetwork(inbox), in: map[raft.NodeID]bool{}}
}

type memTransport struct {
	*peer.MemTransport
	room *memRoom
	id   raft.NodeID
}

func (r *memRoom) dial(id raft.NodeID) func(context.Context) (Transport, error) {
	return func(context.Context) (Transport, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.in[id] = true
		return &memTransport{MemTransport: r.net.Join(id), room: r, id: id}, nil
	}
}

func (t *memTransport) Members() []raft.NodeID {
	t.room.mu.Lock()
	defer t.room.mu.Unlock()
	var ids []raft.NodeID
	for id := range t.room.in {
		if id != t.id {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (t *memTransport) Connected() []raft.NodeID { return t.Members() }

func (t *memTransport) Close() error {
	t.room.mu.Lock()
	delete(t.room.in, t.id)
	t.room.mu.Unlock()
	return t.MemTransport.Close()
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("TABRAFT_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// join starts member id in room on store (a new MemoryStorage if nil).
func join(t testing.TB, room *memRoom, id raft.NodeID, store peer.Storage, mod func(*Env)) *Member {
	t.Helper()
	if store == nil {
		store = raft.NewMemoryStorage()
	}
	env := Env{Logger: testLogger(t), Storage: store, Dial: room.dial(id)}
	if mod != nil {
		mod(&env)
	}
	m, err := Join(context.Background(), Options{Signal: "mem://", Room: "test", ID: id}, env)
	if err != nil {
		t.Fatalf("join %d: %v", id, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Stop(ctx)
	})
	return m
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func status(t testing.TB, m *Member) Status {
	t.Helper()
	st, err := m.Status(context.Background())
	if err != nil {
		t.Fatalf("status of %d: %v", m.ID(), err)
	}
	return st
}

// cluster starts n members: the first founds the cluster, the others join
// once it leads, and all are voters when it returns.
func cluster(t testing.TB, n int, mod func(*Env)) (*memRoom, []*Member) {
	t.Helper()
	return clusterIn(t, newMemRoom(), n, mod)
}

// clusterIn is cluster in room.
func clusterIn(t testing.TB, room *memRoom, n int, mod func(*Env)) (*memRoom, []*Member) {
	t.Helper()
	ms := []*Member{join(t, room, 1, nil, mod)}
	waitFor(t, "member 1 leads", func() bool { return status(t, ms[0]).Role == "leader" })
	for i := 2; i <= n; i++ {
		ms = append(ms, join(t, room, raft.NodeID(i), nil, mod))
	}
	waitFor(t, fmt.Sprintf("%d voters", n), func() bool { return len(status(t, ms[0]).Voters) == n })
	return room, ms
}

func propose(t *testing.T, m *Member, op board.Op) board.Result {
	t.Helper()
	res, err := m.Propose(context.Background(), op)
	if err != nil {
		t.Fatalf("propose %+v on %d: %v", op, m.ID(), err)
	}
	if res.Err != "" {
		t.Fatalf("propose %+v on %d: board refused it: %s", op, m.ID(), res.Err)
	}
	return res
}

func set(k, v string) board.Op { return board.Op{Kind: "set", Key: k, Value: v} }

// converged waits until every member applied the same board (as want,
// unless nil). Boards only grow in version, so equal boards after a
// member's Propose returned hold everything it had applied then.
func converged(t *testing.T, want map[string]string, ms ...*Member) {
	t.Helper()
	same := func() bool {
		first, v := ms[0].Cells(), ms[0].sm.Version()
		if want != nil && !maps.Equal(first, want) {
			return false
		}
		for _, m := range ms[1:] {
			if m.sm.Version() != v || !maps.Equal(m.Cells(), first) {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(20 * time.Second)
	for !same() {
		if time.Now().After(deadline) {
			for _, m := range ms {
				t.Logf("member %d: %d cells, status %+v", m.ID(), len(m.Cells()), status(t, m))
			}
			t.Fatalf("timed out waiting until every member applied the same board")
		}
		time.Sleep(5 * time.Millisecond)
	}
	h := status(t, ms[0]).Hash
	for _, m := range ms[1:] {
		if got := status(t, m).Hash; got != h {
			t.Errorf("member %d's hash %s, member %d's %s", m.ID(), got, ms[0].ID(), h)
		}
	}
}

func TestThreeMembersAgree(t *testing.T) {
	_, ms := cluster(t, 3, nil)
	want := map[string]string{}
	for i, m := range ms {
		k := fmt.Sprintf("%d,%d", i, i)
		propose(t, m, set(k, fmt.Sprint(i)))
		want[k] = fmt.Sprint(i)
	}
	for _, m := range ms {
		v, err := m.Read(context.Background(), "1,1")
		if err != nil || v != "1" {
			t.Errorf("read on %d: %q, %v; want \"1\"", m.ID(), v, err)
		}
	}
	converged(t, want, ms...)
	st := status(t, ms[0])
	if st.Version != 3 || st.Commit == 0 || st.Applied < st.Commit || st.FirstIndex != 1 || len(st.Progress) != 3 {
		t.Errorf("leader's status: %+v", st)
	}
	if st.Note == "" || len(st.Peers) != 2 || !st.Peers[0].Connected {
		t.Errorf("leader's note and peers: %q %+v", st.Note, st.Peers)
	}
}

func TestProposeBatchInOrder(t *testing.T) {
	_, ms := cluster(t, 3, nil)
	var ops []board.Op
	for i := range 100 {
		ops = append(ops, set("k", fmt.Sprint(i)))
	}
	ops = append(ops, board.Op{Kind: "del", Key: "nothing"})
	res, err := ms[1].ProposeBatch(context.Background(), ops)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(ops) {
		t.Fatalf("%d results for %d ops", len(res), len(ops))
	}
	for i := 1; i < len(res); i++ {
		if res[i].Version <= res[i-1].Version {
			// Natively goroutines may be preempted; under GOOS=js they are not.
			report := t.Logf
			if runtime.GOOS == "js" {
				report = t.Errorf
			}
			report("op %d applied at version %d, before op %d (%d)", i, res[i].Version, i-1, res[i-1].Version)
		}
	}
	converged(t, nil, ms...)
}

func TestEvents(t *testing.T) {
	_, ms := cluster(t, 3, nil)
	var mu sync.Mutex
	var applied []appliedEvent
	var roles []roleEvent
	unsubscribe, ok := ms[2].On(EventApplied, func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		applied = append(applied, e.Data.(appliedEvent))
	})
	if !ok {
		t.Fatal("applied is an event")
	}
	ms[2].On(EventRole, func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		roles = append(roles, e.Data.(roleEvent))
	})
	if _, ok := ms[2].On("nonsense", func(Event) {}); ok {
		t.Error("subscribed to an unknown event")
	}
	for i := range 20 {
		propose(t, ms[i%3], set(fmt.Sprint(i), "x"))
	}
	converged(t, nil, ms...)
	hash := status(t, ms[2]).Hash
	waitFor(t, "the applied events of 20 ops", func() bool {
		mu.Lock()
		defer mu.Unlock()
		ops := 0
		for _, e := range applied {
			if e.Op != nil {
				ops++
			}
		}
		return ops == 20
	})
	mu.Lock()
	for i := 1; i < len(applied); i++ {
		if applied[i].Index != applied[i-1].Index+1 {
			t.Errorf("applied event %d has index %d after %d", i, applied[i].Index, applied[i-1].Index)
		}
	}
	last := applied[len(applied)-1]
	if last.Hash != hash || last.Result == nil || last.Op == nil || last.Op.Op != "set" || *last.Op.Val != "x" {
		t.Errorf("last applied event %+v, hash %s", last, hash)
	}
	mu.Unlock()
	unsubscribe()
	propose(t, ms[0], set("after", "x"))
	converged(t, nil, ms...)

	// Leadership moves: member 3 hears of it.
	if err := ms[0].TransferLeadership(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "member 3 saw itself lead", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(roles) > 0 && roles[len(roles)-1].Role == "leader" && roles[len(roles)-1].Leader == "3"
	})
	mu.Lock()
	defer mu.Unlock()
	for _, e := range applied {
		if e.Op != nil && e.Op.Key != nil && *e.Op.Key == "after" {
			t.Errorf("event delivered after unsubscribing: %+v", e)
		}
	}
}

func TestStopRestartDisconnect(t *testing.T) {
	_, ms := cluster(t, 3, func(e *Env) { e.Raft.SnapshotEntries = 20; e.Raft.CompactionKeepEntries = 5 })
	ctx := context.Background()
	if err := ms[2].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	st := status(t, ms[2])
	if st.Role != "stopped" || len(st.Voters) != 3 {
		t.Errorf("stopped member's status: %+v", st)
	}
	if _, err := ms[2].Propose(ctx, set("a", "b")); !errors.Is(err, peer.ErrStopped) || Message(err) != "tabraft: member stopped" {
		t.Errorf("propose on a stopped member: %v", err)
	}
	for i := range 60 { // past two snapshots
		propose(t, ms[i%2], set(fmt.Sprint(i%7), fmt.Sprint(i)))
	}
	var mu sync.Mutex
	var restored []restoredEvent
	ms[2].On(EventRestored, func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		restored = append(restored, e.Data.(restoredEvent))
	})
	if err := ms[2].Restart(ctx); err != nil {
		t.Fatal(err)
	}
	converged(t, nil, ms...)
	mu.Lock()
	if len(restored) == 0 {
		t.Error("no restored event at restart")
	}
	mu.Unlock()

	// Cut off, the member falls behind; the two others still commit.
	ms[1].Disconnect()
	if !status(t, ms[1]).Disconnected {
		t.Error("status does not say disconnected")
	}
	for i := range 5 {
		propose(t, ms[i%2*2], set("cut", fmt.Sprint(i)))
	}
	if v := ms[1].Cells()["cut"]; v == "4" {
		t.Error("a disconnected member applied what was written meanwhile")
	}
	ms[1].Reconnect()
	converged(t, nil, ms...)
}

func TestLeave(t *testing.T) {
	_, ms := cluster(t, 3, nil)
	if err := ms[0].Leave(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The voters stay odd: one voter and one learner are left.
	waitFor(t, "member 1 out, a leader elected", func() bool {
		st := status(t, ms[1])
		return !slices.Contains(st.Voters, "1") && !slices.Contains(st.Learners, "1") && st.Leader != "" && st.Leader != "1"
	})
	propose(t, ms[2], set("after", "leave"))
	converged(t, nil, ms[1:]...)
	if _, err := ms[0].Propose(context.Background(), set("a", "b")); !errors.Is(err, ErrLeft) {
		t.Errorf("propose after leaving: %v", err)
	}
	if err := ms[0].Restart(context.Background()); !errors.Is(err, ErrLeft) {
		t.Errorf("restart after leaving: %v", err)
	}
}

func TestDeadMemberRemovedThenRecoverAlone(t *testing.T) {
	ctx := context.Background()
	room := newMemRoom()
	opts := func(id raft.NodeID) Options {
		return Options{Signal: "mem://", Room: "test", ID: id, DeadTimeout: time.Second}
	}
	var ms []*Member
	for i := range 3 {
		id := raft.NodeID(i + 1)
		m, err := Join(ctx, opts(id), Env{Logger: testLogger(t), Storage: raft.NewMemoryStorage(), Dial: room.dial(id)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Stop(ctx) })
		ms = append(ms, m)
		if i == 0 {
			waitFor(t, "member 1 leads", func() bool { return status(t, m).Role == "leader" })
		}
	}
	waitFor(t, "three voters", func() bool { return len(status(t, ms[0]).Voters) == 3 })
	propose(t, ms[1], set("a", "1"))

	// A member that stops is removed after its dead timeout.
	if err := ms[2].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "member 3 removed", func() bool {
		st := status(t, ms[0])
		return st.Leader != "" && !slices.Contains(st.Voters, "3") && !slices.Contains(st.Learners, "3")
	})

	// The last two stop; one of them recovers alone with its copy of the
	// board.
	lone, other := ms[0], ms[1]
	if err := other.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lone.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lone.RecoverAlone(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the survivor leads alone", func() bool {
		st := status(t, lone)
		return st.Role == "leader" && len(st.Voters) == 1
	})
	propose(t, lone, set("c", "3"))
	if got := lone.Cells(); got["a"] != "1" || got["c"] != "3" {
		t.Errorf("board after recovering alone: %v", got)
	}
}

func TestRestartFromStorage(t *testing.T) {
	room := newMemRoom()
	store := raft.NewMemoryStorage()
	m := join(t, room, 1, store, nil)
	waitFor(t, "member 1 leads", func() bool { return status(t, m).Role == "leader" })
	propose(t, m, set("a", "1"))
	propose(t, m, board.Op{Kind: "clear"})
	propose(t, m, set("b", "2"))
	hash := status(t, m).Hash
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A new member on the same storage (a reload of the tab) applies it all again.
	m2 := join(t, room, 1, store, nil)
	waitFor(t, "the board rebuilt", func() bool { return maps.Equal(m2.Cells(), map[string]string{"b": "2"}) })
	if got := status(t, m2).Hash; got != hash {
		t.Errorf("hash after the rebuild %s, before %s", got, hash)
	}
}
