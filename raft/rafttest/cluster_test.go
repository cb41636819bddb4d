package rafttest

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// applyLog records what every member applied and signals when each has
// applied want writes.
type applyLog struct {
	mu      sync.Mutex
	want    int
	ids     map[raft.NodeID][]uint64
	done    chan struct{}
	pending int // members still short of want
}

func newApplyLog(members, want int) *applyLog {
	return &applyLog{want: want, ids: map[raft.NodeID][]uint64{}, done: make(chan struct{}), pending: members}
}

func (l *applyLog) onApply(m raft.NodeID, e raft.Entry) {
	if e.Type != raft.EntryNormal || len(e.Data) < RequestIDSize {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ids[m] = append(l.ids[m], binary.LittleEndian.Uint64(e.Data))
	if len(l.ids[m]) == l.want {
		if l.pending--; l.pending == 0 {
			close(l.done)
		}
	}
}

func startCluster(t *testing.T, opts Options) (*Cluster, raft.NodeID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	if err := c.Campaign(ctx, 1); err != nil {
		t.Fatal(err)
	}
	lead, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c, lead
}

func TestClusterReplicatesInOrder(t *testing.T) {
	const clients, writes = 8, 400
	log := newApplyLog(3, writes)
	c, lead := startCluster(t, Options{OnApply: log.onApply})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	res, err := Run(ctx, Load{Clients: clients, Ops: writes}, func(ctx context.Context, _ int) error {
		return c.Propose(ctx, lead, make([]byte, 32))
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != writes || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Fatalf("result %v: want %d writes and ordered percentiles", res, writes)
	}
	select {
	case <-log.done:
	case <-ctx.Done():
		t.Fatalf("members did not all apply %d writes", writes)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	want := log.ids[lead]
	sorted := slices.Sorted(slices.Values(want))
	if len(slices.Compact(sorted)) != writes {
		t.Fatalf("leader applied %d distinct writes, want %d", len(slices.Compact(sorted)), writes)
	}
	for id, got := range log.ids {
		if !slices.Equal(got, want) {
			t.Errorf("member %d applied a different sequence from the leader %d", id, lead)
		}
	}
	if d := c.Dropped(); d != 0 {
		t.Errorf("%d messages dropped", d)
	}
}

func TestClusterCompactsOnPolicy(t *testing.T) {
	const writes = 300
	var mu sync.Mutex
	snapshots := map[raft.NodeID]int{}
	c, lead := startCluster(t, Options{
		Config: func(cfg *raft.Config) { cfg.SnapshotEntries, cfg.CompactionKeepEntries = 50, 10 },
		Snapshot: func(m raft.NodeID) []byte {
			mu.Lock()
			defer mu.Unlock()
			snapshots[m]++
			return []byte("image")
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Run(ctx, Load{Clients: 4, Ops: writes}, func(ctx context.Context, _ int) error {
		return c.Propose(ctx, lead, make([]byte, RequestIDSize))
	}); err != nil {
		t.Fatal(err)
	}
	var st raft.Status
	if err := c.Do(ctx, lead, func(n *raft.Node) { st = n.Status() }); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if snapshots[lead] < writes/50-1 {
		t.Fatalf("leader took %d snapshots of %d writes with a policy of 50, want at least %d (status %+v)",
			snapshots[lead], writes, writes/50-1, st)
	}
}

func TestProposeThroughFollower(t *testing.T) {
	c, lead := startCluster(t, Options{})
	follower := lead%3 + 1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 10 {
		if err := c.Propose(ctx, follower, make([]byte, RequestIDSize)); err != nil {
			t.Fatalf("propose through follower %d: %v", follower, err)
		}
	}
}

func TestProposeRejectsShortData(t *testing.T) {
	c, lead := startCluster(t, Options{})
	if err := c.Propose(context.Background(), lead, make([]byte, RequestIDSize-1)); err == nil {
		t.Fatal("a proposal too short for its request id was accepted")
	}
	if err := c.Propose(context.Background(), 9, make([]byte, RequestIDSize)); err == nil {
		t.Fatal("a proposal to an unknown member was accepted")
	}
}

func TestStopEndsWaits(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitLeader(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("WaitLeader after Stop: %v, want ErrStopped", err)
	}
	if err := c.Propose(context.Background(), 1, make([]byte, RequestIDSize)); !errors.Is(err, ErrStopped) {
		t.Fatalf("Propose after Stop: %v, want ErrStopped", err)
	}
}

func TestRunReportsErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := Run(context.Background(), Load{Clients: 4, Ops: 100}, func(context.Context, int) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Run: %v, want %v", err, boom)
	}
	if _, err := Run(context.Background(), Load{Clients: 0, Ops: 1}, nil); err == nil {
		t.Fatal("Run accepted a load without clients")
	}
}

func TestPercentileIndex(t *testing.T) {
	for _, tc := range []struct{ n, p, want int }{
		{1, 50, 0}, {1, 99, 0}, {2, 50, 0}, {2, 99, 1}, {100, 50, 49}, {100, 99, 98}, {1000, 99, 989},
	} {
		if got := percentileIndex(tc.n, tc.p); got != tc.want {
			t.Errorf("percentileIndex(%d, %d) = %d, want %d", tc.n, tc.p, got, tc.want)
		}
	}
}
