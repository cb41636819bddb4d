package raft

import "testing"

// Regression tests for core bugs the simulator (raft/sim) found. Each names
// the seed that found it.

// A freshly bootstrapped member's first Ready carried the bootstrap entry
// but not the hard state that goes with it (term 1, commit 1): NewNode took
// the bootstrapped in-memory state for the persisted one. The host never
// stored it, and entry 1 was handed out for applying without ever being
// reported committed. Found by `tabraft-sim -seed 1` (every seed, really).
func TestRegressBootstrapHardStateReachesTheHost(t *testing.T) {
	s := NewMemoryStorage()
	n, err := NewNode(&Config{ID: 1, Voters: []NodeID{1, 2, 3}, Storage: s})
	if err != nil {
		t.Fatal(err)
	}
	rd := n.Ready()
	if len(rd.Entries) != 1 || rd.Entries[0].Index != 1 {
		t.Fatalf("first Ready entries = %v, want the bootstrap entry", rd.Entries)
	}
	if rd.HardState.Term != 1 || rd.HardState.Commit != 1 || !rd.MustSync {
		t.Fatalf("first Ready hard state = %+v (MustSync %v), want term 1 commit 1, synced", rd.HardState, rd.MustSync)
	}
	if err := s.Save(&rd); err != nil {
		t.Fatal(err)
	}
	n.Advance()
	if hs, _, _ := s.InitialState(); hs.Term != 1 || hs.Commit != 1 {
		t.Fatalf("persisted hard state = %+v, want term 1 commit 1", hs)
	}
	// A restart from that storage is at term 1 with entry 1 committed.
	n2, err := NewNode(&Config{ID: 1, Voters: []NodeID{1, 2, 3}, Storage: s})
	if err != nil {
		t.Fatal(err)
	}
	if st := n2.Status(); st.Term != 1 || st.Commit != 1 {
		t.Fatalf("restarted status term %d commit %d, want 1 and 1", st.Term, st.Commit)
	}
	if n2.HasReady() && !n2.Ready().HardState.IsEmpty() {
		t.Fatalf("a restart with nothing new reports a hard state to persist")
	}
}
