package wasm

import (
	"context"
	"slices"
	"testing"
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
