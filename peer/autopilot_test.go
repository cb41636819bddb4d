package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/raft"
)

// apCluster runs members with the autopilot on a MemNetwork, whose
// transports are the roster: a member present on the network is "in the
// room". Members start empty and found or join as FoundingVoters says;
// each keeps its storage across crashes. Every configuration any member
// applies is checked against the target.
type apCluster struct {
	t   testing.TB
	net *MemNetwork
	// join connects member id and returns its transport and the other
	// members present (default: through net).
	join func(id raft.NodeID) (Transport, []raft.NodeID)
	ap   autopilot.Config
	tick time.Duration

	mu     sync.Mutex // guards the maps: writers pick members concurrently
	nodes  map[raft.NodeID]*Node
	boards map[raft.NodeID]*board.Board
	stores map[raft.NodeID]*raft.MemoryStorage

	confMu sync.Mutex
	confs  []appliedConf
}

type appliedConf struct {
	by raft.NodeID
	cs raft.ConfState
}

func newAPCluster(t testing.TB, ap autopilot.Config) *apCluster {
	c := &apCluster{t: t, net: NewMemNetwork(4096), ap: ap, tick: time.Millisecond,
		nodes: map[raft.NodeID]*Node{}, boards: map[raft.NodeID]*board.Board{},
		stores: map[raft.NodeID]*raft.MemoryStorage{}}
	t.Cleanup(c.stopAll)
	return c
}

// watched is a member's storage as the test sees it: it records every
// configuration the member applies (a Ready's ConfState reaches Save).
type watched struct {
	*raft.MemoryStorage
	c  *apCluster
	id raft.NodeID
}

func (w watched) Save(rd *raft.Ready) error {
	if rd.ConfState != nil {
		w.c.confMu.Lock()
		w.c.confs = append(w.c.confs, appliedConf{w.id, *rd.ConfState})
		w.c.confMu.Unlock()
	}
	return w.MemoryStorage.Save(rd)
}

// start starts member id from its storage (empty the first time).
func (c *apCluster) start(id raft.NodeID) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stores[id] == nil {
		c.stores[id] = raft.NewMemoryStorage()
	}
	var tr Transport
	var roster []raft.NodeID
	if c.join != nil {
		tr, roster = c.join(id)
	} else {
		mt := c.net.Join(id)
		tr, roster = mt, mt.Members()
	}
	voters, err := FoundingVoters(c.stores[id], id, roster)
	if err != nil {
		c.t.Fatalf("start %x: %v", id, err)
	}
	ap := c.ap
	c.boards[id] = board.New()
	n, err := Start(context.Background(), Config{
		Raft: raft.Config{ID: id, Voters: voters, Rand: rand.New(rand.NewPCG(uint64(id), 11)),
			SnapshotEntries: 300, CompactionKeepEntries: 50},
		Storage: watched{c.stores[id], c, id}, Transport: tr, StateMachine: c.boards[id],
		TickInterval: c.tick, Autopilot: &ap,
		Logger: testLogger(),
	})
	if err != nil {
		c.t.Fatalf("start %x: %v", id, err)
	}
	c.nodes[id] = n
}

// crash stops member id without leaving, keeping its storage.
func (c *apCluster) crash(id raft.NodeID) {
	c.mu.Lock()
	n := c.nodes[id]
	delete(c.nodes, id)
	c.mu.Unlock()
	n.Stop()
}

// leave has member id leave the cluster.
func (c *apCluster) leave(id raft.NodeID, timeout time.Duration) error {
	c.mu.Lock()
	n := c.nodes[id]
	delete(c.nodes, id)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return n.Leave(ctx)
}

// wipe forgets member id's storage (only for a member that left: it may
// then come back as new).
func (c *apCluster) wipe(id raft.NodeID) {
	c.mu.Lock()
	delete(c.stores, id)
	c.mu.Unlock()
}

func (c *apCluster) stopAll() {
	c.mu.Lock()
	nodes := slices.Collect(mapValues(c.nodes))
	clear(c.nodes)
	c.mu.Unlock()
	for _, n := range nodes {
		n.Stop()
	}
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func (c *apCluster) live() []raft.NodeID {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]raft.NodeID, 0, len(c.nodes))
	for id := range c.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (c *apCluster) node(id raft.NodeID) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// eventually polls cond until it holds, failing the test after timeout.
func (c *apCluster) eventually(timeout time.Duration, what string, cond func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within %v; last seen: %s; members: %s", what, timeout, last, c.describe())
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
}

// view is one live member's health, if it answers.
func (c *apCluster) view(id raft.NodeID) (Health, bool) {
	n := c.node(id)
	if n == nil {
		return Health{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	h, err := n.Health(ctx)
	return h, err == nil
}

// leaderView returns the health of the member that leads, if one does.
func (c *apCluster) leaderView() (raft.NodeID, Health, bool) {
	for _, id := range c.live() {
		if h, ok := c.view(id); ok && h.Role == raft.Leader {
			return id, h, true
		}
	}
	return raft.None, Health{}, false
}

// waitConf waits until a leader applied a configuration satisfying ok.
func (c *apCluster) waitConf(timeout time.Duration, what string, ok func(cs raft.ConfState) bool) (raft.NodeID, raft.ConfState) {
	c.t.Helper()
	var lead raft.NodeID
	var cs raft.ConfState
	c.eventually(timeout, what, func() (bool, string) {
		id, h, found := c.leaderView()
		if !found {
			return false, "no leader"
		}
		lead, cs = id, h.Members
		return ok(cs) && !cs.IsJoint(), fmt.Sprintf("leader %x: %+v (%s)", id, cs, h.Autopilot)
	})
	return lead, cs
}

// settled: a leader whose configuration holds exactly the live members,
// with the largest odd number of voters they allow.
func (c *apCluster) settled(cs raft.ConfState) bool {
	members := append(slices.Clone(cs.Voters), cs.Learners...)
	slices.Sort(members)
	live := c.live()
	want := min(c.ap.WithDefaults().TargetVoters, len(live))
	if want%2 == 0 {
		want--
	}
	return slices.Equal(members, live) && len(cs.Voters) == want
}

// writers write unique keys through random live members until stopped,
// as clients would (retrying after errors), and count what was
// acknowledged.
type writers struct {
	stop  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	acked []string
	n     atomic.Int64
}

func (c *apCluster) startWriters(k int, seed uint64) *writers {
	w := &writers{stop: make(chan struct{})}
	for i := range k {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			for seq := 0; ; seq++ {
				select {
				case <-w.stop:
					return
				default:
				}
				live := c.live()
				if len(live) == 0 {
					time.Sleep(time.Millisecond) // back-off, as a client would
					continue
				}
				via := live[rng.IntN(len(live))]
				n := c.node(via)
				if n == nil {
					continue
				}
				key := fmt.Sprintf("w%d-%d-%x", i, seq, via)
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				_, err := n.Propose(ctx, board.Op{Kind: "set", Key: key, Value: "v"}.Encode())
				cancel()
				if err == nil {
					w.mu.Lock()
					w.acked = append(w.acked, key)
					w.mu.Unlock()
					w.n.Add(1)
				} else {
					time.Sleep(time.Millisecond) // back-off, as a client would
				}
			}
		}()
	}
	return w
}

func (w *writers) halt() []string {
	close(w.stop)
	w.wg.Wait()
	return w.acked
}

// waitWrites waits until k more writes are acknowledged.
func (c *apCluster) waitWrites(w *writers, k int64) {
	c.t.Helper()
	target := w.n.Load() + k
	deadline := time.Now().Add(15 * time.Second)
	for w.n.Load() < target {
		if time.Now().After(deadline) {
			c.t.Fatalf("%d more writes: not within 15s; %d acknowledged; %s", k, w.n.Load(), c.describe())
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

// converge waits until every live member applied every acknowledged write
// and all hold the same board.
func (c *apCluster) converge(acked []string) {
	c.t.Helper()
	c.eventually(20*time.Second, "live members converge", func() (bool, string) {
		hashes := map[string][]raft.NodeID{}
		for _, id := range c.live() {
			n := c.node(id)
			b := c.boards[id]
			var h string
			var missing int
			var missed []string
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := n.call(ctx, func() {
				h = b.Hash()
				for _, k := range acked {
					if _, ok := b.Get(k); !ok {
						missing++
						if len(missed) < 5 || missing%200 == 0 {
							missed = append(missed, k)
						}
					}
				}
			})
			cancel()
			if err != nil {
				return false, fmt.Sprintf("%x: %v", id, err)
			}
			if missing > 0 {
				return false, fmt.Sprintf("%x misses %d of %d acknowledged writes (%s)", id, missing, len(acked), missed)
			}
			hashes[h] = append(hashes[h], id)
		}
		return len(hashes) == 1, fmt.Sprint("boards by hash: ", hashes)
	})
}

// describe summarizes every live member's state, for failures.
func (c *apCluster) describe() string {
	var b strings.Builder
	for _, id := range c.live() {
		n := c.node(id)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := n.Status(ctx)
		h, _ := n.Health(ctx)
		cancel()
		if err != nil {
			fmt.Fprintf(&b, "\n  %x: %v", id, err)
			continue
		}
		fmt.Fprintf(&b, "\n  %x: %s term %d lead %x commit %d applied %d last %d; conf %+v; note %q",
			id, st.Role, st.Term, st.Lead, st.Commit, st.Applied, st.LastIndex, h.Members, h.Note)
		for pid, pr := range st.Progress {
			fmt.Fprintf(&b, "\n     %x: %+v heard %v", pid, pr, h.LastHeard[pid])
		}
	}
	return b.String()
}

// checkConfs checks every configuration applied so far.
func (c *apCluster) checkConfs(extra func(appliedConf) error) {
	c.t.Helper()
	target := c.ap.WithDefaults().TargetVoters
	c.confMu.Lock()
	defer c.confMu.Unlock()
	for _, ac := range c.confs {
		if len(ac.cs.Voters) > target || len(ac.cs.VotersOutgoing) > target {
			c.t.Errorf("member %x applied %+v: more than %d voters", ac.by, ac.cs, target)
		}
		if extra != nil {
			if err := extra(ac); err != nil {
				c.t.Errorf("member %x applied %+v: %v", ac.by, ac.cs, err)
			}
		}
	}
}

// testLogger discards, unless TABRAFT_TEST_LOG is set (debug, info...).
func testLogger() *slog.Logger {
	var level slog.Level
	if v := os.Getenv("TABRAFT_TEST_LOG"); v == "" || level.UnmarshalText([]byte(v)) != nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func testAutopilot(dead time.Duration) autopilot.Config {
	return autopilot.Config{TargetVoters: 5, DeadTimeout: dead}
}

func isVoterIn(cs raft.ConfState, id raft.NodeID) bool { return slices.Contains(cs.Voters, id) }

func TestAutopilotGrowsOneToThreeVoters(t *testing.T) {
	c := newAPCluster(t, testAutopilot(2*time.Second))
	c.start(1) // alone: founds
	c.waitConf(10*time.Second, "member 1 leads alone", func(cs raft.ConfState) bool {
		return slices.Equal(cs.Voters, []raft.NodeID{1})
	})
	w := c.startWriters(3, 1)
	c.waitWrites(w, 50)

	c.start(2)
	c.waitConf(10*time.Second, "member 2 joins as a learner", func(cs raft.ConfState) bool {
		return slices.Contains(cs.Learners, 2)
	})
	c.waitWrites(w, 50)
	if _, h, ok := c.leaderView(); ok && len(h.Members.Voters) != 1 {
		t.Fatalf("two members: voters %v, want one voter and a learner", h.Members.Voters)
	}

	c.start(3)
	c.waitConf(10*time.Second, "three voters", func(cs raft.ConfState) bool {
		return len(cs.Voters) == 3 && len(cs.Learners) == 0
	})
	c.waitWrites(w, 50)
	acked := w.halt()
	c.converge(acked)
	c.checkConfs(func(ac appliedConf) error {
		if !ac.cs.IsJoint() && len(ac.cs.Voters)%2 == 0 {
			return errors.New("an even number of voters")
		}
		return nil
	})
}

// grow starts members 1..k one after the other and waits until the
// cluster settled.
func (c *apCluster) grow(k int) raft.NodeID {
	c.t.Helper()
	for id := raft.NodeID(1); id <= raft.NodeID(k); id++ {
		c.start(id)
		c.waitConf(10*time.Second, fmt.Sprintf("member %x in the configuration", id), func(cs raft.ConfState) bool {
			return slices.Contains(cs.Voters, id) || slices.Contains(cs.Learners, id)
		})
	}
	lead, _ := c.waitConf(10*time.Second, "settled", c.settled)
	return lead
}

// follower returns a voter of cs other than lead.
func follower(cs raft.ConfState, lead raft.NodeID) raft.NodeID {
	for _, id := range cs.Voters {
		if id != lead {
			return id
		}
	}
	return raft.None
}

func TestAutopilotReplacesCrashedVoter(t *testing.T) {
	c := newAPCluster(t, autopilot.Config{TargetVoters: 3, DeadTimeout: 500 * time.Millisecond})
	lead := c.grow(4)
	_, cs := c.waitConf(time.Second, "three voters and a learner", func(cs raft.ConfState) bool {
		return len(cs.Voters) == 3 && len(cs.Learners) == 1
	})
	learner, victim := cs.Learners[0], follower(cs, lead)
	w := c.startWriters(2, 2)
	c.waitWrites(w, 20)
	c.crash(victim)
	c.waitConf(10*time.Second, fmt.Sprintf("%x removed, %x promoted", victim, learner), func(cs raft.ConfState) bool {
		return len(cs.Voters) == 3 && isVoterIn(cs, learner) && !isMember(cs, victim)
	})
	c.waitWrites(w, 20)
	_, h, ok := c.leaderView()
	if !ok || len(h.LastHeard) != 2 || h.Autopilot == "" {
		t.Fatalf("leader's health = %+v, want the last contact of both other members and the autopilot's reason", h)
	}
	c.converge(w.halt())
	c.checkConfs(nil)
}

func TestAutopilotKeepsVotersOddWithoutLearner(t *testing.T) {
	c := newAPCluster(t, autopilot.Config{TargetVoters: 3, DeadTimeout: 500 * time.Millisecond})
	lead := c.grow(3)
	_, cs := c.waitConf(time.Second, "three voters", func(cs raft.ConfState) bool { return len(cs.Voters) == 3 })
	victim := follower(cs, lead)
	c.crash(victim)
	// Two live members: one voter (the leader) and a learner, not two voters.
	c.waitConf(10*time.Second, "the leader alone votes, the other live member learns", func(cs raft.ConfState) bool {
		return slices.Equal(cs.Voters, []raft.NodeID{lead}) && len(cs.Learners) == 1 && !isMember(cs, victim)
	})
	c.start(4)
	c.waitConf(10*time.Second, "three voters again", func(cs raft.ConfState) bool {
		return len(cs.Voters) == 3 && isVoterIn(cs, 4)
	})
	c.checkConfs(nil)
}

func TestLeaveLeader(t *testing.T) {
	c := newAPCluster(t, testAutopilot(time.Second))
	lead := c.grow(3)
	w := c.startWriters(2, 3)
	c.waitWrites(w, 20)
	if err := c.leave(lead, 10*time.Second); err != nil {
		t.Fatalf("leader's Leave = %v", err)
	}
	c.waitConf(10*time.Second, "settled without the old leader", func(cs raft.ConfState) bool {
		return !isMember(cs, lead) && c.settled(cs)
	})
	c.waitWrites(w, 20)
	c.converge(w.halt())
	c.checkConfs(nil)
}

func TestLeaveOnlyVoterWithLearner(t *testing.T) {
	c := newAPCluster(t, testAutopilot(time.Second))
	c.grow(2)
	c.waitConf(time.Second, "one voter, one learner", func(cs raft.ConfState) bool {
		return slices.Equal(cs.Voters, []raft.NodeID{1}) && slices.Equal(cs.Learners, []raft.NodeID{2})
	})
	w := c.startWriters(1, 4)
	c.waitWrites(w, 20)
	if err := c.leave(1, 10*time.Second); err != nil {
		t.Fatalf("Leave of the only voter = %v", err)
	}
	lead, _ := c.waitConf(10*time.Second, "member 2 alone", func(cs raft.ConfState) bool {
		return slices.Equal(cs.Voters, []raft.NodeID{2}) && len(cs.Learners) == 0
	})
	if lead != 2 {
		t.Fatalf("leader %x, want 2", lead)
	}
	c.waitWrites(w, 20)
	c.converge(w.halt())
}

func TestRestartWithinDeadTimeoutKeepsPlace(t *testing.T) {
	c := newAPCluster(t, testAutopilot(3*time.Second))
	lead := c.grow(3)
	_, cs := c.waitConf(time.Second, "three voters", func(cs raft.ConfState) bool { return len(cs.Voters) == 3 })
	victim := follower(cs, lead)
	c.confMu.Lock()
	from := len(c.confs)
	c.confMu.Unlock()
	w := c.startWriters(2, 5)
	c.waitWrites(w, 20)
	c.crash(victim)
	c.start(victim) // at once, from its storage
	c.waitWrites(w, 50)
	c.converge(w.halt())
	if _, cs := c.waitConf(time.Second, "", func(raft.ConfState) bool { return true }); !isVoterIn(cs, victim) {
		t.Fatalf("configuration %+v lost %x", cs, victim)
	}
	c.confMu.Lock()
	defer c.confMu.Unlock()
	for _, ac := range c.confs[from:] {
		if !isVoterIn(ac.cs, victim) {
			t.Fatalf("member %x applied %+v, without %x", ac.by, ac.cs, victim)
		}
	}
}

func TestLeaveOfAMemberNeverAdded(t *testing.T) {
	net := NewMemNetwork(16)
	net.Join(9) // someone else is in the room: member 5 waits
	tr := net.Join(5)
	voters, err := FoundingVoters(raft.NewMemoryStorage(), 5, tr.Members())
	if err != nil || voters != nil {
		t.Fatalf("FoundingVoters = %v, %v; want to wait", voters, err)
	}
	n, err := Start(context.Background(), Config{Raft: raft.Config{ID: 5}, Storage: raft.NewMemoryStorage(),
		Transport: tr, StateMachine: board.New(), TickInterval: time.Millisecond,
		Autopilot: &autopilot.Config{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := n.Health(context.Background())
	if err != nil || !strings.Contains(h.Note, "waiting to be added") {
		t.Fatalf("Health = %+v, %v; want a note saying it waits", h, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Leave(ctx); err != nil {
		t.Fatalf("Leave = %v", err)
	}
	select {
	case <-n.Done():
	default:
		t.Fatalf("member still running after Leave")
	}
}

func TestFoundingVoters(t *testing.T) {
	empty := raft.NewMemoryStorage()
	if v, err := FoundingVoters(empty, 3, nil); err != nil || !slices.Equal(v, []raft.NodeID{3}) {
		t.Errorf("alone and new: %v, %v; want to found", v, err)
	}
	if v, err := FoundingVoters(empty, 3, []raft.NodeID{3}); err != nil || !slices.Equal(v, []raft.NodeID{3}) {
		t.Errorf("a roster naming only itself: %v, %v; want to found", v, err)
	}
	if v, err := FoundingVoters(empty, 3, []raft.NodeID{7}); err != nil || v != nil {
		t.Errorf("new with others present: %v, %v; want to wait", v, err)
	}
	used := raft.NewMemoryStorage()
	used.SetHardState(raft.HardState{Term: 2, Commit: 0})
	if v, err := FoundingVoters(used, 3, nil); err != nil || v != nil {
		t.Errorf("with state: %v, %v; want a restart", v, err)
	}
}

// TestNoQuorumNoteLeaveAndRecoverAlone: the two other voters crash for
// good; the survivor says why it cannot elect a leader, Leave gives up at
// its deadline, and RecoverAlone makes the survivor a cluster of its own
// with every write it had.
func TestNoQuorumNoteLeaveAndRecoverAlone(t *testing.T) {
	c := newAPCluster(t, autopilot.Config{TargetVoters: 3, DeadTimeout: time.Second})
	lead := c.grow(3)
	w := c.startWriters(2, 6)
	c.waitWrites(w, 50)
	acked := w.halt()
	survivor := lead
	for _, id := range c.live() {
		if id != survivor {
			c.crash(id)
		}
	}
	c.eventually(10*time.Second, "a note naming the unreachable voters", func() (bool, string) {
		h, _ := c.view(survivor)
		return strings.Contains(h.Note, "no leader") && strings.Contains(h.Note, "unreachable") &&
			strings.Contains(h.Note, "RecoverAlone"), h.Note
	})

	n := c.node(survivor)
	if err := c.leave(survivor, 100*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Leave without a quorum = %v, want the deadline", err)
	}
	select {
	case <-n.Done():
	default:
		t.Fatalf("member still running after a failed Leave")
	}

	meta, err := RecoverAlone(c.stores[survivor], board.New(), survivor)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(meta.ConfState.Voters, []raft.NodeID{survivor}) {
		t.Fatalf("recovered configuration %+v", meta.ConfState)
	}
	c.start(survivor)
	c.waitConf(10*time.Second, "the survivor leads alone", func(cs raft.ConfState) bool {
		return slices.Equal(cs.Voters, []raft.NodeID{survivor})
	})
	c.converge(acked)
	c.start(10) // a newcomer joins the recovered cluster
	c.waitConf(10*time.Second, "the newcomer added", func(cs raft.ConfState) bool { return isMember(cs, 10) })
	w = c.startWriters(1, 7)
	c.waitWrites(w, 20)
	c.converge(append(acked, w.halt()...))
}

// TestAutopilotChurn is the native test: ten members join, leave
// (gracefully, the leader too), crash and come back in a seeded random
// order while clients write all along. Every configuration any member
// applies has at most TargetVoters voters; at the end every acknowledged
// write is in every live member's state, and all live members agree.
// TABRAFT_CHURN_SEED picks another seed.
func TestAutopilotChurn(t *testing.T) {
	seed := uint64(1)
	if v := os.Getenv("TABRAFT_CHURN_SEED"); v != "" {
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatalf("TABRAFT_CHURN_SEED: %v", err)
		}
	}
	t.Logf("seed %d (TABRAFT_CHURN_SEED=%d replays the same order of events)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x7ab))
	c := newAPCluster(t, autopilot.Config{TargetVoters: 5, DeadTimeout: 600 * time.Millisecond})

	type state uint8
	const (
		absent  state = iota // never started, or left for good (storage wiped)
		running              // started
		crashed              // stopped without leaving, storage kept
	)
	const members = 10
	states := make([]state, members+1)
	c.start(1)
	states[1] = running
	c.waitConf(10*time.Second, "member 1 leads", func(cs raft.ConfState) bool { return len(cs.Voters) == 1 })
	w := c.startWriters(3, seed)
	c.waitWrites(w, 20)

	pick := func(want state) raft.NodeID {
		var ids []raft.NodeID
		for id := 1; id <= members; id++ {
			if states[id] == want {
				ids = append(ids, raft.NodeID(id))
			}
		}
		if len(ids) == 0 {
			return raft.None
		}
		return ids[rng.IntN(len(ids))]
	}
	var joins, leaves, crashes, restarts int
	began := time.Now()
	for step := range 40 {
		live := c.live()
		switch r := rng.IntN(10); {
		case r < 4 && len(live) < 7: // join: a new member, or a crashed one back
			if id := pick(crashed); id != raft.None && rng.IntN(2) == 0 {
				c.start(id)
				states[id] = running
				restarts++
				t.Logf("%5dms step %d: %x restarts", time.Since(began).Milliseconds(), step, id)
			} else if id := pick(absent); id != raft.None {
				c.start(id)
				states[id] = running
				joins++
				t.Logf("%5dms step %d: %x joins", time.Since(began).Milliseconds(), step, id)
			}
		case r < 7 && len(live) >= 2: // graceful leave, of anyone
			id := live[rng.IntN(len(live))]
			if err := c.leave(id, 10*time.Second); err != nil {
				t.Fatalf("step %d: %x leaving: %v", step, id, err)
			}
			c.wipe(id) // it is out: it may come back as a new member
			states[id] = absent
			leaves++
			t.Logf("%5dms step %d: %x left", time.Since(began).Milliseconds(), step, id)
		case len(live) >= 2: // crash, only once the cluster has healed
			_, cs := c.waitConf(15*time.Second, fmt.Sprintf("step %d: settled before a crash", step), c.settled)
			id := live[rng.IntN(len(live))]
			if len(cs.Voters) < 3 && isVoterIn(cs, id) {
				continue // it would take the quorum with it
			}
			c.crash(id)
			states[id] = crashed
			crashes++
			t.Logf("%5dms step %d: %x crashes (configuration %+v)", time.Since(began).Milliseconds(), step, id, cs)
			if rng.IntN(3) == 0 { // back within the dead timeout
				c.start(id)
				states[id] = running
				restarts++
				t.Logf("%5dms step %d: %x restarts at once", time.Since(began).Milliseconds(), step, id)
			}
		}
		c.waitWrites(w, 10)
	}
	acked := w.halt()
	c.waitConf(15*time.Second, "settled at the end", c.settled)
	c.converge(acked)
	c.checkConfs(nil)
	c.confMu.Lock()
	n := len(c.confs)
	c.confMu.Unlock()
	t.Logf("%d joins, %d graceful leaves, %d crashes, %d restarts; %d writes acknowledged; %d configurations applied",
		joins, leaves, crashes, restarts, len(acked), n)
}

// TestRecoverAloneOnDisk: RecoverAlone on a native member's file log
// (closed after a crash of the whole cluster but this member's disk).
func TestRecoverAloneOnDisk(t *testing.T) {
	c := newClusterIn(t, 3, clusterEnv{transport: memTransports(), storage: diskStorages(),
		tick: time.Millisecond, snapshotEvery: 100})
	c.leader()
	for i := range 300 {
		c.write(fmt.Sprint("k", i), "v")
	}
	c.stopAll()
	st, closeLog := c.env.storage(t, 1)
	meta, err := RecoverAlone(st, board.New(), 1)
	closeLog()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(meta.ConfState.Voters, []raft.NodeID{1}) {
		t.Fatalf("recovered configuration %+v", meta.ConfState)
	}
	c.start(1)
	if lead := c.leader(); lead != 1 {
		t.Fatalf("leader %x, want 1 alone", lead)
	}
	c.converge(300)
	c.write("after", "v")
	c.converge(301)
}
