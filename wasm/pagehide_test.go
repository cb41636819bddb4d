package wasm

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tabraft/tabraft/peer"
)

// TestHandOver: what pagehide does. A follower's hand-over changes
// nothing; the leader's moves leadership to another member, and the former
// leader stays a voter (a reloaded tab keeps its place).
func TestHandOver(t *testing.T) {
	_, ms := cluster(t, 3, nil)
	if err := ms[1].HandOver(context.Background()); err != nil {
		t.Fatalf("a follower's hand-over: %v", err)
	}
	if st := status(t, ms[0]); st.Role != "leader" {
		t.Fatalf("a follower's hand-over moved leadership: member 1 is %s", st.Role)
	}
	if err := ms[0].HandOver(context.Background()); err != nil {
		t.Fatalf("the leader's hand-over: %v", err)
	}
	waitFor(t, "another member leads", func() bool {
		st := status(t, ms[1])
		return st.Leader != "" && st.Leader != "1"
	})
	if st := status(t, ms[1]); !slices.Contains(st.Voters, "1") {
		t.Fatalf("member 1 is no longer a voter after handing over: %v", st.Voters)
	}
	propose(t, ms[0], set("after", "hand-over"))
}

// flushCounting is a storage that counts Flush calls, as idbstore's
// deferred commit index would be written.
type flushCounting struct {
	peer.Storage
	flushes atomic.Int32
}

func (s *flushCounting) Flush() error { s.flushes.Add(1); return nil }

// TestHandOverFlushes: a page going away writes back what its storage
// deferred, leader or not.
func TestHandOverFlushes(t *testing.T) {
	stores := map[*Env]*flushCounting{}
	var mu sync.Mutex
	_, ms := cluster(t, 3, func(e *Env) {
		s := &flushCounting{Storage: e.Storage}
		e.Storage = s
		mu.Lock()
		stores[e] = s
		mu.Unlock()
	})
	for _, m := range ms {
		if err := m.HandOver(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range stores {
		if n := s.flushes.Load(); n != 1 {
			t.Errorf("a member's storage was flushed %d times on hand-over, want 1", n)
		}
	}
	if len(stores) != 3 {
		t.Errorf("%d stores", len(stores))
	}
}
