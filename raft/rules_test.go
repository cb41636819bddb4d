package raft

// One test per rule of the Raft paper (Ongaro & Ousterhout), plus the
// extensions tabraft depends on (pre-vote, check-quorum, fast repair).

import (
	"errors"
	"slices"
	"testing"
)

// seeded returns a tweak that starts a node with the given log (terms of
// entries 1..n) and hard state term.
func seeded(logs map[NodeID][]uint64, terms map[NodeID]uint64) func(*Config) {
	return func(cfg *Config) {
		st := cfg.Storage.(*MemoryStorage)
		if st.LastIndex() > 0 {
			return // restarted: keep what it persisted
		}
		var ents []Entry
		for i, t := range logs[cfg.ID] {
			ents = append(ents, Entry{Index: uint64(i + 1), Term: t})
		}
		if err := st.Append(ents); err != nil {
			panic(err)
		}
		st.SetHardState(HardState{Term: terms[cfg.ID]})
	}
}

func TestVoteGrantedAtMostOncePerTerm(t *testing.T) {
	c := newCluster(t, 3, nil)
	n := c.nodes[3]
	vote := func(from NodeID) Message {
		_ = n.Step(Message{Type: MsgVote, From: from, To: 3, Term: 2, Index: 1, LogTerm: 1})
		rd := n.Ready()
		n.Advance()
		return rd.Messages[0]
	}
	if m := vote(1); m.Reject {
		t.Fatalf("first vote request in term 2 rejected: %v", m)
	}
	if m := vote(2); !m.Reject {
		t.Fatalf("second candidate in the same term granted: %v", m)
	}
	if m := vote(1); m.Reject {
		t.Fatalf("repeated request from the same candidate rejected: %v", m)
	}
}

func TestVoteRefusedToStaleLog(t *testing.T) {
	// Node 1's log ends in term 1, node 2's in term 2: 2 must refuse 1 (§5.4.1).
	c := newCluster(t, 3, seeded(map[NodeID][]uint64{1: {1, 1, 1}, 2: {1, 2}, 3: {1, 2}},
		map[NodeID]uint64{1: 2, 2: 2, 3: 2}))
	c.campaign(1)
	if c.leader() == 1 {
		t.Fatalf("node with a stale log won:\n%s", c)
	}
	c.campaign(2)
	if c.leader() != 2 {
		t.Fatalf("node with the freshest log lost:\n%s", c)
	}
}

func TestSplitVoteStartsNewTerm(t *testing.T) {
	c := newCluster(t, 4, func(cfg *Config) { cfg.DisablePreVote = true })
	// 1 and 2 campaign at once; each gets one other vote: no majority of 4.
	c.cut = map[[2]NodeID]bool{{1, 4}: true, {2, 3}: true, {1, 2}: true, {2, 1}: true}
	_ = c.nodes[1].Campaign()
	_ = c.nodes[2].Campaign()
	c.process()
	if c.leader() != None {
		t.Fatalf("a leader emerged from a split vote:\n%s", c)
	}
	c.heal()
	c.tick(60)
	lead := c.leader()
	if lead == None || c.nodes[lead].r.term < 2 {
		t.Fatalf("split vote not resolved by a later term:\n%s", c)
	}
}

func TestHeartbeatsKeepFollowersFromCampaigning(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	term := c.nodes[1].r.term
	c.tick(500)
	if c.leader() != 1 || c.nodes[1].r.term != term {
		t.Fatalf("leader changed without faults:\n%s", c)
	}
}

func TestLeaderAppendsNoOpOnElection(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	// Entry 1 is the bootstrap configuration; the no-op follows it.
	e := c.nodes[1].r.log.entry(2)
	if e.Term != c.nodes[1].r.term || len(e.Data) != 0 {
		t.Fatalf("first entry of the new leader = %+v, want an empty entry of its term", e)
	}
	if got := c.nodes[2].r.log.committed; got != 2 {
		t.Fatalf("follower commit = %d, want the no-op committed", got)
	}
}

func TestOldTermEntriesNotCommittedByCounting(t *testing.T) {
	// Figure 8: an entry from an earlier term stored on a majority is not
	// committed until an entry of the leader's own term is.
	c := newCluster(t, 3, seeded(map[NodeID][]uint64{1: {1, 2}, 2: {1, 2}, 3: {1}},
		map[NodeID]uint64{1: 2, 2: 2, 3: 2}))
	c.drop = func(Message) bool { return true } // nothing reaches anyone
	_ = c.nodes[1].Campaign()
	r := c.nodes[1].r
	// Grant the election by hand (messages are dropped).
	r.becomeCandidate()
	r.becomeLeader()
	r.advanceStable(r.log.lastIndex(), r.term)
	r.prs[2].match = 2 // a majority {1,2} stores index 2, written in term 2
	if r.maybeCommit() || r.log.committed >= 2 {
		t.Fatalf("committed index %d of term 2 by counting in term %d", r.log.committed, r.term)
	}
	r.prs[2].match = 3 // now the no-op of the leader's term is on a majority
	if !r.maybeCommit() || r.log.committed != 3 {
		t.Fatalf("commit = %d, want 3 once the current term's entry is on a majority", r.log.committed)
	}
}

func TestFastLogRepairSkipsConflictingTerm(t *testing.T) {
	// Node 2 holds 300 entries of term 2 the leader never had; the leader
	// holds 100 of term 3. Repair must take a couple of probes, not 300.
	long := func(first []uint64, t uint64, n int) []uint64 {
		out := slices.Clone(first)
		for range n {
			out = append(out, t)
		}
		return out
	}
	base := []uint64{1, 1, 1, 1, 1}
	logs := map[NodeID][]uint64{1: long(base, 3, 100), 2: long(base, 2, 300), 3: long(base, 3, 100)}
	c := newCluster(t, 3, seeded(logs, map[NodeID]uint64{1: 3, 2: 3, 3: 3}))
	rejects := 0
	c.drop = func(m Message) bool {
		if m.Type == MsgAppResp && m.From == 2 && m.Reject {
			rejects++
		}
		return false
	}
	c.campaign(1)
	c.tick(10)
	if rejects > 2 {
		t.Errorf("repair took %d rejections, want ≤ 2", rejects)
	}
	l1, l2 := c.nodes[1].r.log, c.nodes[2].r.log
	if l1.lastIndex() != l2.lastIndex() || l2.committed != l1.committed {
		t.Fatalf("follower not repaired: leader %s, follower %s", l1.String(), l2.String())
	}
	for i := uint64(1); i <= l1.lastIndex(); i++ {
		if t1, _ := l1.term(i); !l2.matchTerm(i, t1) {
			t.Fatalf("entry %d differs after repair", i)
		}
	}
}

func TestLeaderRepairsShorterFollower(t *testing.T) {
	c := newCluster(t, 3, seeded(map[NodeID][]uint64{1: {1, 1, 1, 1, 1, 1}, 2: {1}, 3: {1, 1, 1, 1, 1, 1}},
		map[NodeID]uint64{1: 1, 2: 1, 3: 1}))
	rejects := 0
	c.drop = func(m Message) bool {
		if m.Type == MsgAppResp && m.From == 2 && m.Reject {
			rejects++
		}
		return false
	}
	c.campaign(1)
	if rejects > 1 {
		t.Errorf("catching up a short log took %d rejections, want ≤ 1", rejects)
	}
	if got, want := c.nodes[2].r.log.lastIndex(), c.nodes[1].r.log.lastIndex(); got != want {
		t.Fatalf("follower last index %d, want %d", got, want)
	}
}

func TestPreVoteKeepsPartitionedMemberFromBumpingTerms(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	term := c.nodes[1].r.term
	c.isolate(3)
	c.tick(300)
	if got := c.nodes[3].r.term; got != term {
		t.Fatalf("isolated member's term went from %d to %d despite pre-vote", term, got)
	}
	c.heal()
	c.tick(20)
	if c.leader() != 1 || c.nodes[1].r.term != term {
		t.Fatalf("rejoining member disrupted the leader:\n%s", c)
	}
}

func TestWithoutPreVoteRejoiningMemberDisrupts(t *testing.T) {
	// The counterpart of the test above: it is pre-vote that prevents this.
	c := newCluster(t, 3, func(cfg *Config) { cfg.DisablePreVote = true; cfg.DisableCheckQuorum = true })
	c.campaign(1)
	term := c.nodes[1].r.term
	c.isolate(3)
	c.tick(100)
	if c.nodes[3].r.term <= term {
		t.Fatalf("without pre-vote the isolated member should have bumped its term")
	}
}

func TestCheckQuorumLeaderStepsDown(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.isolate(1)
	c.tick(2 * 15)
	if c.nodes[1].r.role == Leader {
		t.Fatalf("leader cut off from its quorum kept leading")
	}
	if err := c.nodes[1].Propose([]byte("x")); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("propose on deposed leader = %v, want ErrNoLeader", err)
	}
}

func TestLeaseIgnoresVoteRequestsWhileLeaderIsHeard(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	n := c.nodes[2]
	term := n.r.term
	_ = n.Step(Message{Type: MsgVote, From: 3, To: 2, Term: term + 1, Index: 99, LogTerm: term})
	if n.r.term != term || n.r.vote == 3 {
		t.Fatalf("follower hearing a leader granted a disruptive vote (term %d vote %d)", n.r.term, n.r.vote)
	}
}

func TestStaleTermMessagesIgnored(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.DisableCheckQuorum = true })
	c.campaign(1)
	c.campaign(2) // term 2+ now; 1 is a follower
	n := c.nodes[2]
	before := n.Status()
	err := n.Step(Message{Type: MsgAppResp, From: 3, To: 2, Term: 1, Index: before.LastIndex})
	if err != nil {
		t.Fatalf("stale response returned error %v", err)
	}
	if got := n.r.prs[3].match; got > c.nodes[3].r.log.lastIndex() {
		t.Fatalf("stale response moved match to %d", got)
	}
	if n.Status().Term != before.Term || n.Status().Role != Leader {
		t.Fatalf("stale response changed leadership")
	}
}

func TestStaleLeaderLearnsNewTerm(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.DisableCheckQuorum = true })
	c.campaign(1)
	c.isolate(1)
	c.campaign(2)
	c.heal()
	c.nodes[1].r.bcastHeartbeat()
	c.process()
	if c.nodes[1].r.role == Leader {
		t.Fatalf("stale leader did not step down after hearing a higher term")
	}
}

func TestUnknownSenderDropped(t *testing.T) {
	c := newCluster(t, 3, nil)
	n := c.nodes[1]
	term := n.r.term
	err := n.Step(Message{Type: MsgVote, From: 9, To: 1, Term: 5})
	if !errors.Is(err, ErrUnknownSender) {
		t.Fatalf("Step from a stranger = %v, want ErrUnknownSender", err)
	}
	if n.r.term != term {
		t.Fatalf("a stranger's message changed the term to %d", n.r.term)
	}
}

func TestLocalMessageFromNetworkRefused(t *testing.T) {
	c := newCluster(t, 3, nil)
	if err := c.nodes[1].Step(Message{Type: MsgHup, From: 2, To: 1, Term: 1}); !errors.Is(err, ErrStepLocalMsg) {
		t.Fatalf("MsgHup from the network = %v, want ErrStepLocalMsg", err)
	}
	if c.nodes[1].r.role != Follower {
		t.Fatalf("network MsgHup started an election")
	}
}

func TestRestartKeepsTermVoteAndLog(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.DisableCheckQuorum = true })
	c.campaign(1)
	c.propose(1, "a")
	c.propose(1, "b")
	// 3 votes for 2 in a new term, then crashes.
	n3 := c.nodes[3]
	term := n3.r.term + 5
	_ = n3.Step(Message{Type: MsgVote, From: 2, To: 3, Term: term, Index: 100, LogTerm: term - 1})
	c.process()
	last := n3.r.log.lastIndex()
	c.restart(3)
	n3 = c.nodes[3]
	if n3.r.term != term || n3.r.vote != 2 || n3.r.log.lastIndex() != last {
		t.Fatalf("after restart term=%d vote=%d last=%d, want %d, 2, %d", n3.r.term, n3.r.vote, n3.r.log.lastIndex(), term, last)
	}
	// It must not vote again in the same term.
	_ = n3.Step(Message{Type: MsgVote, From: 1, To: 3, Term: term, Index: 100, LogTerm: term - 1})
	rd := n3.Ready()
	n3.Advance()
	if len(rd.Messages) != 1 || !rd.Messages[0].Reject {
		t.Fatalf("restarted member voted twice in term %d: %v", term, rd.Messages)
	}
}

func TestRestartReappliesFromApplied(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.propose(1, "a")
	c.propose(1, "b")
	c.tick(10)
	c.restart(2)
	c.tick(10)
	if got := c.appliedData(2); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("restarted member (volatile state machine) re-applied %q", got)
	}
	c.nodes[2] = nil
	c.start(2, func(cfg *Config) { cfg.Applied = c.stores[2].LastIndex() })
	c.tick(10)
	if got := c.appliedData(2); len(got) != 0 {
		t.Fatalf("member restarted with Applied at the end re-applied %q", got)
	}
}

func TestEntriesAppliedInOrderExactlyOnce(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	for i := range 50 {
		_ = c.nodes[1+NodeID(i%3)].Propose([]byte{byte(i)})
		if i%7 == 0 {
			c.process()
		}
	}
	c.tick(10)
	for _, id := range c.ids {
		var last uint64
		for _, e := range c.applied[id] {
			if e.Index != last+1 {
				t.Fatalf("node %d applied %d after %d", id, e.Index, last)
			}
			last = e.Index
		}
		if len(c.appliedData(id)) != 50 {
			t.Fatalf("node %d applied %d commands, want 50", id, len(c.appliedData(id)))
		}
	}
}

func TestPipelineBoundedByInflight(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.MaxInflightMsgs = 4; cfg.MaxSizePerMsg = 1 })
	c.campaign(1)
	c.isolate(2)
	c.isolate(3)
	for i := range 20 {
		_ = c.nodes[1].Propose([]byte{byte(i)})
		rd := c.nodes[1].Ready()
		_ = c.stores[1].Save(&rd)
		c.nodes[1].Advance()
	}
	in := c.nodes[1].r.prs[2].inflights.count
	if in > 4 {
		t.Fatalf("%d MsgApps in flight, limit 4", in)
	}
}

func TestMaxSizePerMsgSplitsAppends(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.MaxSizePerMsg = 100 })
	c.campaign(1)
	maxPer := 0
	c.drop = func(m Message) bool {
		if m.Type == MsgApp && len(m.Entries) > maxPer {
			maxPer = len(m.Entries)
		}
		return false
	}
	batch := make([][]byte, 10)
	for i := range batch {
		batch[i] = make([]byte, 40)
	}
	if err := c.nodes[1].ProposeBatch(batch); err != nil {
		t.Fatal(err)
	}
	c.process()
	if maxPer > 2 { // 40+24 bytes each: two fit only as the first one's overflow
		t.Fatalf("a MsgApp carried %d entries of 64 bytes with a 100-byte limit", maxPer)
	}
	if got := len(c.appliedData(1)); got != 10 {
		t.Fatalf("leader applied %d of 10", got)
	}
}

func TestSilentFollowerFallsBackToProbe(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.propose(1, "x")
	if st := c.nodes[1].r.prs[3].state; st != stateReplicate {
		t.Fatalf("follower 3 in %s, want replicate", st)
	}
	c.isolate(3)
	c.tick(2 * 15)
	if st := c.nodes[1].r.prs[3].state; st != stateProbe {
		t.Fatalf("silent follower still in %s", st)
	}
	c.heal()
	c.propose(1, "y")
	c.tick(10)
	if got := c.appliedData(3); !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("follower 3 applied %q after healing", got)
	}
}

func TestUnreachableReportStopsStreaming(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.propose(1, "x")
	c.nodes[1].ReportUnreachable(2)
	if st := c.nodes[1].r.prs[2].state; st != stateProbe {
		t.Fatalf("unreachable follower in %s, want probe", st)
	}
}

func TestFollowerOverwritesUncommittedConflicts(t *testing.T) {
	// 3 accepted entries from a leader that lost them; the new leader's log wins.
	c := newCluster(t, 3, seeded(map[NodeID][]uint64{1: {1, 3, 3}, 2: {1, 3, 3}, 3: {1, 2, 2, 2, 2}},
		map[NodeID]uint64{1: 3, 2: 3, 3: 3}))
	c.campaign(1)
	c.tick(10)
	l3 := c.nodes[3].r.log
	if t2, _ := l3.term(2); t2 != 3 || l3.lastIndex() != 4 {
		t.Fatalf("follower log not overwritten: %s term(2)=%d", l3.String(), t2)
	}
}

func TestMaxUncommittedSizeDropsProposals(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.MaxUncommittedEntriesSize = 1000 })
	c.campaign(1)
	c.isolate(1)
	var err error
	for range 100 {
		if err = c.nodes[1].Propose(make([]byte, 100)); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrProposalDropped) {
		t.Fatalf("unbounded uncommitted growth: err = %v", err)
	}
}
