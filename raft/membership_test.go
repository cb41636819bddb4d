package raft

import (
	"errors"
	"slices"
	"testing"
)

func TestLearnerReplicatesButNeverVotesOrCounts(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.addLearners(1, 4)
	c.propose(1, "a")
	c.tick(10)
	if got := c.appliedData(4); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("learner applied %q", got)
	}
	if m := c.nodes[4].Members(); !slices.Equal(m.Learners, []NodeID{4}) || slices.Contains(m.Voters, 4) {
		t.Fatalf("learner sees configuration %+v", m)
	}
	// With both other voters gone, the leader and the learner are not a quorum.
	c.isolate(2)
	c.isolate(3)
	commit := c.nodes[1].Status().Commit
	_ = c.nodes[1].Propose([]byte("b"))
	c.process()
	if got := c.nodes[1].Status().Commit; got != commit {
		t.Fatalf("commit moved to %d with only the leader and a learner", got)
	}
	// A learner never campaigns.
	c.tick(200)
	if c.nodes[4].Status().Term != c.nodes[1].Status().Term || c.nodes[4].Status().Role != Follower {
		t.Fatalf("learner campaigned: %+v", c.nodes[4].Status())
	}
}

func TestPromoteLearnerToVoter(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.addLearners(1, 4)
	c.tick(5)
	c.changeConf(1, ConfChangeSingle{AddVoter, 4})
	c.tick(5)
	for _, id := range c.ids {
		if m := c.nodes[id].Members(); !slices.Equal(m.Voters, []NodeID{1, 2, 3, 4}) || len(m.Learners) != 0 {
			t.Fatalf("node %d sees %+v", id, m)
		}
	}
}

func TestJointConsensusReplacesVoters(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.addLearners(1, 4, 5)
	c.tick(5)
	var sawJoint bool
	c.drop = func(m Message) bool {
		if c.nodes[1].r.confState.IsJoint() {
			sawJoint = true
		}
		return false
	}
	c.changeConf(1, ConfChangeSingle{AddVoter, 4}, ConfChangeSingle{AddVoter, 5},
		ConfChangeSingle{RemoveMember, 2}, ConfChangeSingle{AddLearner, 3})
	c.tick(10)
	if !sawJoint {
		t.Fatalf("a change of several voters did not go through a joint configuration")
	}
	want := ConfState{Voters: []NodeID{1, 4, 5}, Learners: []NodeID{3}}
	for _, id := range []NodeID{1, 3, 4, 5} {
		m := c.nodes[id].Members()
		if !slices.Equal(m.Voters, want.Voters) || !slices.Equal(m.Learners, want.Learners) || m.IsJoint() {
			t.Fatalf("node %d ends in %+v, want %+v", id, m, want)
		}
	}
	c.propose(1, "after")
	c.tick(5)
	if got := c.appliedData(5); !slices.Contains(got, "after") {
		t.Fatalf("new voter 5 did not apply a write made after the change: %q", got)
	}
}

func TestJointConfigNeedsBothMajorities(t *testing.T) {
	cs, err := nextConfState(ConfState{Voters: []NodeID{1, 2, 3}},
		ConfChange{Changes: []ConfChangeSingle{{AddVoter, 4}, {AddVoter, 5}, {RemoveMember, 2}, {RemoveMember, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cs.Voters, []NodeID{1, 4, 5}) || !slices.Equal(cs.VotersOutgoing, []NodeID{1, 2, 3}) {
		t.Fatalf("joint configuration = %+v", cs)
	}
	one, err := nextConfState(ConfState{Voters: []NodeID{1, 2, 3}}, ConfChange{Changes: []ConfChangeSingle{{AddVoter, 4}}})
	if err != nil || one.IsJoint() {
		t.Fatalf("a single added voter should take one step: %+v, %v", one, err)
	}
	if _, err := nextConfState(ConfState{Voters: []NodeID{1}}, ConfChange{Changes: []ConfChangeSingle{{RemoveMember, 1}}}); !errors.Is(err, ErrInvalidConfChange) {
		t.Fatalf("removing the last voter = %v, want ErrInvalidConfChange", err)
	}
}

func TestOnlyOneConfChangePending(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.isolate(1) // nothing commits: the first change stays pending
	if err := c.nodes[1].ProposeConfChange(ConfChange{Changes: []ConfChangeSingle{{AddLearner, 4}}}); err != nil {
		t.Fatal(err)
	}
	err := c.nodes[1].ProposeConfChange(ConfChange{Changes: []ConfChangeSingle{{AddLearner, 5}}})
	if !errors.Is(err, ErrConfChangePending) {
		t.Fatalf("second pending change = %v, want ErrConfChangePending", err)
	}
}

func TestNoConfChangeBeforeLeaderCommitsInItsTerm(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.drop = func(m Message) bool { return m.Type == MsgApp } // the no-op never replicates
	c.campaign(1)
	if c.leader() != 1 {
		t.Fatalf("no leader")
	}
	err := c.nodes[1].ProposeConfChange(ConfChange{Changes: []ConfChangeSingle{{AddLearner, 4}}})
	if !errors.Is(err, ErrConfChangePending) {
		t.Fatalf("change before the leader's no-op committed = %v, want ErrConfChangePending", err)
	}
}

func TestRemovedLeaderHandsOverAndStepsDown(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.propose(1, "a")
	c.changeConf(1, ConfChangeSingle{RemoveMember, 1})
	// No ticks: the hand-over must not wait for an election timeout.
	lead := c.leader()
	if lead == None || lead == 1 {
		t.Fatalf("after removing the leader, leader = %d:\n%s", lead, c)
	}
	c.propose(lead, "b")
	if got := c.appliedData(lead); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("new leader applied %q", got)
	}
	// The removed member never campaigns again.
	term := c.nodes[1].Status().Term
	c.isolate(1)
	c.tick(300)
	if got := c.nodes[1].Status(); got.Term != term || got.Role != Follower {
		t.Fatalf("removed member campaigned: %+v", got)
	}
}

func TestConfigurationSurvivesRestart(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.join(4)
	c.changeConf(1, ConfChangeSingle{AddVoter, 4})
	c.tick(5)
	c.restart(1)
	c.restart(4)
	for _, id := range []NodeID{1, 4} {
		if m := c.nodes[id].Members(); !slices.Equal(m.Voters, []NodeID{1, 2, 3, 4}) {
			t.Fatalf("node %d after restart sees %+v", id, m)
		}
	}
}

func TestConfChangeFromFollowerForwarded(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.join(4)
	c.changeConf(2, ConfChangeSingle{AddLearner, 4})
	c.tick(5)
	if m := c.nodes[1].Members(); !slices.Equal(m.Learners, []NodeID{4}) {
		t.Fatalf("change proposed on a follower not applied: %+v", m)
	}
}

func TestMalformedConfChangeRejected(t *testing.T) {
	for _, b := range [][]byte{nil, {9}, {1, 0, 5}, {1, 0, 1, 7, 1}, {1, 1, 1, 1, 4}, {1, 0, 1, 1, 0}} {
		if _, err := UnmarshalConfChange(b); err == nil {
			t.Errorf("UnmarshalConfChange(%v) accepted", b)
		}
	}
	cc := ConfChange{Changes: []ConfChangeSingle{{AddVoter, 300}, {RemoveMember, 2}}}
	got, err := UnmarshalConfChange(cc.Marshal())
	if err != nil || !slices.Equal(got.Changes, cc.Changes) {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
}

func TestNewLeaderLeavesJointConfiguration(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.addLearners(1, 4, 5)
	c.tick(5)
	// The leader enters the joint configuration, then is cut off before
	// the leave-joint entry can commit.
	c.drop = func(m Message) bool {
		if m.From == 1 && m.Type == MsgApp {
			for _, e := range m.Entries {
				if e.Type == EntryConfChange {
					if cc, _ := UnmarshalConfChange(e.Data); cc.LeaveJoint {
						return true
					}
				}
			}
		}
		return false
	}
	c.changeConf(1, ConfChangeSingle{AddVoter, 4}, ConfChangeSingle{AddVoter, 5})
	c.tick(6) // a heartbeat carries the commit index of the joint entry
	if !c.nodes[2].Members().IsJoint() {
		t.Fatalf("follower 2 not in the joint configuration: %+v", c.nodes[2].Members())
	}
	c.drop = nil
	c.isolate(1)
	c.tick(60)
	lead := c.leader()
	if lead == None || lead == 1 {
		t.Fatalf("no new leader:\n%s", c)
	}
	if m := c.nodes[lead].Members(); m.IsJoint() || !slices.Equal(m.Voters, []NodeID{1, 2, 3, 4, 5}) {
		t.Fatalf("new leader %d did not leave the joint configuration: %+v", lead, m)
	}
}

// A removed member hears nothing more from the leader once the removal is
// applied there, so the leader tells it the commit index in a last
// message: the member applies its own removal and knows it is out (a
// member leaving gracefully waits for exactly that).
func TestRemovedMemberLearnsItsRemoval(t *testing.T) {
	for _, slowAck := range []bool{false, true} {
		c := newCluster(t, 3, nil)
		c.campaign(1)
		c.propose(1, "a")
		c.tick(5)
		if slowAck {
			// The removal commits with the votes of 1 and 2 alone.
			c.drop = func(m Message) bool { return m.From == 3 && m.Type == MsgAppResp }
		}
		c.changeConf(1, ConfChangeSingle{RemoveMember, 3})
		c.tick(5)
		for _, id := range c.ids {
			if m := c.nodes[id].Members(); slices.Contains(m.Voters, 3) {
				t.Fatalf("slow ack %v: node %d still sees 3 in %+v", slowAck, id, m)
			}
		}
	}
}

// A member that knows no configuration (new, or its storage wiped) does
// not vote: the two others of a three-member cluster lose their state and
// come back under their ids, and the survivor, whose configuration still
// lists them, must not be elected with their votes (vote amnesia).
func TestMemberWithoutConfigurationDoesNotVote(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.propose(1, "a")
	c.tick(5)
	term := c.nodes[1].Status().Term
	c.isolate(1)
	for _, id := range []NodeID{2, 3} {
		c.stores[id] = NewMemoryStorage()
		c.boot[id] = nil // wiped: it waits to be added, as a new member does
		c.start(id, nil)
	}
	c.tick(100) // the survivor steps down (check-quorum)
	c.heal()
	c.tick(300) // and campaigns, again and again
	if st := c.nodes[1].Status(); st.Role == Leader {
		t.Fatalf("member 1 was elected (term %d, was %d) with the votes of members that lost their state", st.Term, term)
	}
	for _, id := range []NodeID{2, 3} {
		if st := c.nodes[id].Status(); st.Vote != None || st.LastIndex != 0 {
			t.Fatalf("wiped member %d voted or took entries: %+v", id, st)
		}
	}
}
