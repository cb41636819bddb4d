package raft

import (
	"errors"
	"testing"
)

// readIndex asks id for a read and processes until quiet; ok reports
// whether the read was released.
func (c *cluster) readIndex(id NodeID, ctx string) (ReadState, bool) {
	c.t.Helper()
	if err := c.nodes[id].ReadIndex([]byte(ctx)); err != nil {
		c.t.Fatalf("ReadIndex on %d: %v", id, err)
	}
	c.process()
	for _, rs := range c.reads[id] {
		if string(rs.Context) == ctx {
			return rs, true
		}
	}
	return ReadState{}, false
}

func TestReadIndexOnLeaderNeedsQuorum(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.propose(1, "a")
	rs, ok := c.readIndex(1, "r1")
	if !ok || rs.Index != c.nodes[1].Status().Commit {
		t.Fatalf("read on leader = %+v, %v; commit %d", rs, ok, c.nodes[1].Status().Commit)
	}
	c.isolate(1)
	if rs, ok := c.readIndex(1, "r2"); ok {
		t.Fatalf("isolated leader served a read: %+v", rs)
	}
}

func TestReadIndexThroughFollower(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.propose(1, "a")
	rs, ok := c.readIndex(2, "f1")
	if !ok || rs.Index != c.nodes[1].Status().Commit {
		t.Fatalf("read through follower = %+v, %v", rs, ok)
	}
}

func TestNewLeaderServesNoReadBeforeCommitInTerm(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.drop = func(m Message) bool { return m.Type == MsgApp } // the no-op does not replicate
	c.campaign(1)
	if rs, ok := c.readIndex(1, "early"); ok {
		t.Fatalf("new leader served a read before committing in its term: %+v", rs)
	}
	c.drop = nil
	c.tick(10)
	// The waiting read is released once the no-op commits.
	rs, ok := c.readIndex(1, "later")
	if !ok || rs.Index < 2 {
		t.Fatalf("read after commit in term = %+v, %v", rs, ok)
	}
	if len(c.reads[1]) != 2 || string(c.reads[1][0].Context) != "early" || c.reads[1][0].Index < 2 {
		t.Fatalf("the early read was not released with an index of the new term: %+v", c.reads[1])
	}
}

func TestReadsBatchIntoOneHeartbeatRound(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	beats := 0
	c.drop = func(m Message) bool {
		if m.Type == MsgHeartbeat && m.From == 1 {
			beats++
		}
		return false
	}
	for i := range 50 {
		if err := c.nodes[1].ReadIndex([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	c.process()
	served := len(c.reads[1])
	if served != 50 || beats > 2 {
		t.Fatalf("50 reads: served %d with %d heartbeats, want 50 with one round (2 heartbeats)", served, beats)
	}
}

func TestLeaseReadServedWithoutRound(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.ReadOnlyLeaseBased = true })
	c.campaign(1)
	c.isolate(1) // no round trip possible, but the lease holds
	if err := c.nodes[1].ReadIndex([]byte("lease")); err != nil {
		t.Fatal(err)
	}
	rd := c.nodes[1].Ready()
	c.nodes[1].Advance()
	if len(rd.ReadStates) != 1 {
		t.Fatalf("lease read not served at once: %+v", rd.ReadStates)
	}
	if _, err := NewNode(&Config{ID: 1, Voters: []NodeID{1}, Storage: NewMemoryStorage(),
		ReadOnlyLeaseBased: true, DisableCheckQuorum: true}); err == nil {
		t.Fatalf("lease reads accepted without check-quorum")
	}
}

func TestTransferLeadershipToNamedMember(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.propose(1, "a")
	if err := c.nodes[1].TransferLeadership(3); err != nil {
		t.Fatal(err)
	}
	c.process() // no ticks: the target campaigns at once
	if got := c.leader(); got != 3 {
		t.Fatalf("leader after transfer = %d, want 3:\n%s", got, c)
	}
}

func TestTransferBringsTargetUpToDateFirst(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.isolate(3)
	for _, s := range []string{"a", "b", "c"} {
		c.propose(1, s)
	}
	c.heal()
	if err := c.nodes[1].TransferLeadership(3); err != nil {
		t.Fatal(err)
	}
	if err := c.nodes[1].Propose([]byte("x")); !errors.Is(err, ErrProposalDropped) {
		t.Fatalf("proposal during transfer = %v, want ErrProposalDropped", err)
	}
	c.process()
	c.tick(5)
	if got := c.leader(); got != 3 {
		t.Fatalf("leader = %d, want 3", got)
	}
	c.tick(5)
	if got := c.appliedData(3); len(got) != 3 {
		t.Fatalf("new leader applied %q", got)
	}
}

func TestTransferToMostUpToDateVoter(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.isolate(2)
	c.propose(1, "a")
	c.heal()
	c.cut[[2]NodeID{1, 2}] = true // 2 stays behind
	if err := c.nodes[1].TransferLeadership(None); err != nil {
		t.Fatal(err)
	}
	c.process()
	if got := c.leader(); got != 3 {
		t.Fatalf("transfer to the most up-to-date voter chose %d, want 3", got)
	}
}

func TestTransferAbandonedAfterElectionTimeout(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.isolate(3)
	c.propose(1, "a")
	_ = c.nodes[1].TransferLeadership(3)
	c.tick(16)
	if err := c.nodes[1].Propose([]byte("b")); err != nil {
		t.Fatalf("proposals still refused after the transfer timed out: %v", err)
	}
}

func TestTransferToLearnerRefused(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.addLearners(1, 4)
	if err := c.nodes[1].TransferLeadership(4); !errors.Is(err, ErrInvalidTransfer) {
		t.Fatalf("transfer to a learner = %v, want ErrInvalidTransfer", err)
	}
}

func TestTimeoutNowOnlyFromTheLeader(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	term := c.nodes[3].Status().Term
	if err := c.nodes[3].Step(Message{Type: MsgTimeoutNow, From: 2, To: 3, Term: term}); err != nil {
		t.Fatal(err)
	}
	c.process()
	if st := c.nodes[3].Status(); st.Term != term || st.Role != Follower {
		t.Fatalf("a follower's MsgTimeoutNow started an election: %+v", st)
	}
}
