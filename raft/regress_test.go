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

// A MsgApp queued by one Step aliased the leader's log, and a later Step
// before the next Ready (the member learning of a newer leader that
// overwrote the same indexes) rewrote the queued message's entries in
// place: the message went out with entries of a term above its own, or
// worse, with entries that were never the sender's. Found by `tabraft-sim
// -seed 24` (also seeds 5, 36, 38, 174, 188).
func TestRegressQueuedMsgAppSurvivesTruncation(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	lead := c.nodes[1]
	term := lead.r.term
	c.isolate(1)
	c.propose(1, "a") // only the leader holds it
	last := lead.r.log.lastIndex()

	// No Ready between these Steps: the leader queues a MsgApp carrying
	// "a" to 2 (a probe after 2 was reported unreachable) ...
	lead.ReportUnreachable(2)
	if err := lead.Step(Message{Type: MsgHeartbeatResp, From: 2, To: 1, Term: term}); err != nil {
		t.Fatal(err)
	}
	// ... then hears from the leader of a later term, which overwrites "a".
	if err := lead.Step(Message{Type: MsgApp, From: 3, To: 1, Term: term + 1, Index: last - 1, LogTerm: term,
		Entries: []Entry{{Term: term + 1, Index: last, Data: []byte("b")}}}); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range lead.Ready().Messages {
		if m.Type != MsgApp || m.To != 2 {
			continue
		}
		for _, e := range m.Entries {
			found = true
			if e.Term != term || string(e.Data) != "a" {
				t.Fatalf("queued MsgApp of term %d now carries entry %d term %d %q, want term %d \"a\"",
					m.Term, e.Index, e.Term, e.Data, term)
			}
		}
	}
	if !found {
		t.Fatal("no MsgApp with entries to 2 was queued")
	}
}

// MemoryStorage.Append copied the whole stored log on every call, so a run
// of N appends cost O(N²): a quarter of the simulator's time went there.
// Found profiling tabraft-sim (BenchmarkSeed in raft/sim).
func TestRegressMemoryStorageAppendIsAmortized(t *testing.T) {
	s := NewMemoryStorage()
	next := uint64(1)
	appendOne := func() {
		if err := s.Append([]Entry{{Index: next, Term: 1}}); err != nil {
			t.Fatal(err)
		}
		next++
	}
	for range 10000 {
		appendOne()
	}
	if allocs := testing.AllocsPerRun(1000, appendOne); allocs > 0.1 {
		t.Fatalf("appending one entry to %d costs %.2f allocations", next, allocs)
	}
	// Truncation still works in place, and Entries hands out a copy.
	if err := s.Append([]Entry{{Index: 5, Term: 2}}); err != nil {
		t.Fatal(err)
	}
	ents, _ := s.Entries()
	if len(ents) != 5 || ents[4].Term != 2 || s.LastIndex() != 5 {
		t.Fatalf("after truncation: %d entries, last %+v", len(ents), ents[len(ents)-1])
	}
	ents[0].Term = 99
	if again, _ := s.Entries(); again[0].Term != 1 {
		t.Fatal("Entries aliases the stored log")
	}
}

// A durable state machine may apply entries whose commit index never
// reached the disk (commit-only Readys are not synced): restarting with
// Config.Applied beyond the stored commit must work. Found by the file log's
// review of the core.
func TestRegressAppliedBeyondStoredCommit(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.campaign(1)
	c.propose(1, "a")
	st := c.stores[1]
	applied := st.LastIndex()
	hs, _, _ := st.InitialState()
	hs.Commit = 1 // the last commit advance was lost in the crash
	st.SetHardState(hs)
	c.start(1, func(cfg *Config) { cfg.Applied = applied })
	if got := c.nodes[1].Status().Commit; got != applied {
		t.Fatalf("commit after restart = %d, want %d", got, applied)
	}
	if _, err := NewNode(&Config{ID: 1, Storage: st, Applied: applied + 1}); err == nil {
		t.Fatalf("restart with Applied beyond the stored log accepted")
	}
}

// When a change shrank the quorum, the leader did not look again at what
// the new quorum already held: an entry stored on a majority of the new
// configuration stayed uncommitted in an idle cluster. Found in review.
func TestRegressCommitAfterQuorumShrinks(t *testing.T) {
	c := newCluster(t, 4, func(cfg *Config) { cfg.MaxSizePerMsg = 1 })
	c.campaign(1)
	c.isolate(4)
	c.tick(20)
	l := c.nodes[1].r
	i := l.log.lastIndex() + 1
	c.drop = func(m Message) bool { // 3 gets the removal (i) but not x (i+1)
		if m.To != 3 || m.Type != MsgApp {
			return false
		}
		for _, e := range m.Entries {
			if e.Index > i {
				return true
			}
		}
		return false
	}
	if err := c.nodes[1].ProposeConfChange(ConfChange{Changes: []ConfChangeSingle{{RemoveMember, 4}}}); err != nil {
		t.Fatal(err)
	}
	if err := c.nodes[1].Propose([]byte("x")); err != nil {
		t.Fatal(err)
	}
	c.process()
	c.tick(100)
	if l.log.committed < i+1 {
		t.Fatalf("x, held by {1,2} of {1,2,3}, never commits: commit %d, last %d", l.log.committed, l.log.lastIndex())
	}
}

// Lease reads were served during a leadership transfer, when the target
// can win at once while the old leader still believes it leads. Found in review.
func TestRegressNoLeaseReadDuringTransfer(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.ReadOnlyLeaseBased = true })
	c.campaign(1)
	c.propose(1, "a")
	c.drop = func(m Message) bool { return m.To == 1 } // 1 hears nothing more
	if err := c.nodes[1].TransferLeadership(2); err != nil {
		t.Fatal(err)
	}
	c.process()
	c.propose(2, "w")
	w := c.nodes[2].Status().LastIndex
	if err := c.nodes[1].ReadIndex([]byte("r")); err != nil {
		t.Fatal(err)
	}
	c.process()
	for _, rs := range c.reads[1] {
		if rs.Index < w {
			t.Fatalf("the old leader served a read at %d after w committed at %d", rs.Index, w)
		}
	}
}

// A rejection naming an index beyond the leader's log parked the follower
// past the end (next = 1000, no term to send from). Found in review.
func TestRegressBogusRejectionRefused(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	l := c.nodes[1]
	err := l.Step(Message{Type: MsgAppResp, From: 2, To: 1, Term: l.r.term, Reject: true, Index: 1000, RejectHint: 1000})
	if err == nil {
		t.Fatalf("a rejection beyond the leader's log was accepted")
	}
	c.propose(1, "x")
	c.tick(20)
	if got := c.appliedData(2); len(got) != 1 || got[0] != "x" {
		t.Fatalf("follower 2 applied %q after a bogus rejection", got)
	}
}

// A MsgApp starting below the commit index was dropped whole, even the
// entries it carried beyond it; with duplicated or late messages that cost
// a rejection and a probe each time. Found in review.
func TestLateMsgAppKeepsEntriesBeyondCommit(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.propose(1, "a")
	c.tick(10)
	f := c.nodes[2]
	st := f.Status()
	term := st.Term
	// Prev is one below the follower's commit; the message carries the
	// committed entry again plus a new one.
	m := Message{Type: MsgApp, From: 1, To: 2, Term: term, Index: st.Commit - 1, LogTerm: term,
		Entries: []Entry{{Index: st.Commit, Term: term, Data: []byte("a")}, {Index: st.Commit + 1, Term: term, Data: []byte("b")}},
		Commit:  st.Commit}
	if err := f.Step(m); err != nil {
		t.Fatal(err)
	}
	if got := f.Status().LastIndex; got != st.Commit+1 {
		t.Fatalf("last index %d after a late MsgApp, want %d (the entry beyond the commit kept)", got, st.Commit+1)
	}
	// A message whose entry at the commit index disagrees is not trimmed.
	bad := m
	bad.Entries = []Entry{{Index: st.Commit, Term: term + 1}, {Index: st.Commit + 1, Term: term + 1}}
	bad.Term = term + 1
	if err := f.Step(bad); err != nil {
		t.Fatal(err)
	}
	if t2, _ := f.r.log.term(st.Commit); t2 != term {
		t.Fatalf("committed entry %d overwritten with term %d", st.Commit, t2)
	}
}
