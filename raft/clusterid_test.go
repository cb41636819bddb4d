package raft

import (
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"testing"
)

// found starts member id alone with empty storage: it founds a cluster of
// its own (as peer.FoundingVoters has a member alone in its room do).
func (c *cluster) found(id NodeID) {
	c.t.Helper()
	c.ids = append(c.ids, id)
	c.stores[id] = NewMemoryStorage()
	c.boot[id] = []NodeID{id}
	c.start(id, nil)
	c.campaign(id)
	if c.nodes[id].r.role != Leader {
		c.t.Fatalf("founder %d did not become leader", id)
	}
}

// grow has leader add the new members ids as learners, then as voters.
func (c *cluster) grow(leader NodeID, ids ...NodeID) {
	c.t.Helper()
	c.addLearners(leader, ids...)
	for _, id := range ids {
		c.tick(5)
		c.changeConf(leader, ConfChangeSingle{AddVoter, id})
	}
	c.tick(5)
}

// twoClusters founds cluster A (members 1-3, leader 1, writes a0..a2) and
// cluster B (members 4-6, leader 4, writes b0..b2) in one network.
func twoClusters(t *testing.T) (c *cluster, a, b uint64) {
	c = newCluster(t, 0, nil)
	c.found(1)
	c.grow(1, 2, 3)
	c.found(4)
	c.grow(4, 5, 6)
	for i := range 3 {
		c.propose(1, fmt.Sprintf("a%d", i))
		c.propose(4, fmt.Sprintf("b%d", i))
	}
	c.tick(3)
	a, b = c.nodes[1].Status().Cluster, c.nodes[4].Status().Cluster
	if a == 0 || b == 0 || a == b {
		t.Fatalf("cluster ids %d and %d: want two distinct non-zero ids", a, b)
	}
	for _, id := range []NodeID{2, 3} {
		if got := c.nodes[id].Status().Cluster; got != a {
			t.Fatalf("member %d joined cluster %d, want A's %d", id, got, a)
		}
	}
	for _, id := range []NodeID{5, 6} {
		if got := c.nodes[id].Status().Cluster; got != b {
			t.Fatalf("member %d joined cluster %d, want B's %d", id, got, b)
		}
	}
	return c, a, b
}

// checkSides asserts that every member in side applied only writes with
// the prefix and holds cluster id want.
func checkSides(t *testing.T, c *cluster, want map[NodeID]uint64, prefix map[NodeID]string) {
	t.Helper()
	for id, cl := range want {
		st := c.nodes[id].Status()
		if st.Cluster != cl {
			t.Errorf("member %d: cluster %d, want %d", id, st.Cluster, cl)
		}
		for _, w := range c.appliedData(id) {
			if !strings.HasPrefix(w, prefix[id]) {
				t.Errorf("member %d applied %q of the other cluster (state %v)", id, w, c.appliedData(id))
			}
		}
	}
}

// TestClustersMeet: the leaders of two clusters add each other's members
// (as two autopilots would in one room). No member accepts the other
// cluster's entries, snapshots, terms or votes; both clusters keep
// committing; the refusals are counted.
func TestClustersMeet(t *testing.T) {
	c, a, b := twoClusters(t)
	c.compact(4) // B's leader must send snapshots to A's members
	termA := c.nodes[1].Status().Term
	// Each leader adds the other cluster's members, as learners, then
	// (A) as a voter: the configuration change commits on A's own quorum.
	c.changeConf(1, ConfChangeSingle{AddLearner, 4})
	c.tick(5)
	c.changeConf(1, ConfChangeSingle{AddLearner, 5})
	c.tick(5)
	c.changeConf(1, ConfChangeSingle{AddVoter, 4})
	c.tick(5)
	c.changeConf(4, ConfChangeSingle{AddLearner, 1})
	c.tick(5)
	c.changeConf(4, ConfChangeSingle{AddLearner, 2})
	c.tick(5)
	// B's elections run to terms far above A's; B's member 4 is now a
	// voter of A's configuration too, and A's members campaign.
	for range 5 {
		c.campaign(5)
		c.tick(20)
	}
	c.campaign(2)
	c.tick(30)
	for i := range 3 {
		if l := leaderOf(c, 1, 2, 3); l != None {
			c.propose(l, fmt.Sprintf("a-late%d", i))
		}
		if l := leaderOf(c, 4, 5, 6); l != None {
			c.propose(l, fmt.Sprintf("b-late%d", i))
		}
		c.tick(10)
	}
	want := map[NodeID]uint64{1: a, 2: a, 3: a, 4: b, 5: b, 6: b}
	prefix := map[NodeID]string{1: "a", 2: "a", 3: "a", 4: "b", 5: "b", 6: "b"}
	checkSides(t, c, want, prefix)
	if tb, ta := c.nodes[5].Status().Term, maxTerm(c, 1, 2, 3); ta >= tb && ta > termA+2 {
		t.Errorf("A's terms (%d) followed B's (%d)", ta, tb)
	}
	for _, id := range []NodeID{1, 2, 3} {
		for _, o := range []NodeID{4, 5, 6} {
			if c.nodes[id].Status().Vote == o || c.nodes[o].Status().Vote == id {
				t.Errorf("a vote crossed between %d and %d", id, o)
			}
		}
	}
	// Both clusters still commit on their own.
	for _, side := range [][]NodeID{{1, 2, 3}, {4, 5, 6}} {
		if leaderOf(c, side...) == None {
			t.Fatalf("no leader among %v", side)
		}
	}
	got := slices.Concat(c.appliedData(1), c.appliedData(4))
	for _, w := range []string{"a0", "a2", "a-late2", "b0", "b2", "b-late2"} {
		if !slices.Contains(got, w) {
			t.Errorf("write %q lost (A applied %v, B applied %v)", w, c.appliedData(1), c.appliedData(4))
		}
	}
	for _, id := range []NodeID{1, 4, 5} {
		if st := c.nodes[id].Status(); st.ForeignDropped == 0 || st.ForeignCluster == st.Cluster || st.ForeignCluster == 0 {
			t.Errorf("member %d: %d foreign messages dropped (last of cluster %d): want some of the other cluster", id, st.ForeignDropped, st.ForeignCluster)
		}
	}
}

// TestForeignMessagesRefused: each kind of message from another cluster,
// in a higher term, is refused with ErrForeignCluster and changes nothing;
// one without a cluster id (an older build) is handled as before.
func TestForeignMessagesRefused(t *testing.T) {
	c, a, b := twoClusters(t)
	nd := c.nodes[2]
	before := nd.Status()
	snap := &SnapshotChunk{Meta: SnapshotMeta{Index: 100, Term: 50, ConfState: ConfState{Voters: []NodeID{4}}}, Total: 1, Data: []byte("x")}
	snap.Checksum = crc32.ChecksumIEEE(snap.Data)
	for _, m := range []Message{
		{Type: MsgApp, From: 1, To: 2, Term: 50, Index: before.LastIndex, LogTerm: before.LastTerm, Commit: before.LastIndex + 1,
			Entries: []Entry{{Index: before.LastIndex + 1, Term: 50, Data: []byte("b-evil")}}},
		{Type: MsgHeartbeat, From: 1, To: 2, Term: 50, Commit: before.LastIndex},
		{Type: MsgSnap, From: 1, To: 2, Term: 50, Chunk: snap},
		{Type: MsgVote, From: 3, To: 2, Term: 50, Index: 1000, LogTerm: 50},
		{Type: MsgPreVote, From: 3, To: 2, Term: 50, Index: 1000, LogTerm: 50},
		{Type: MsgTimeoutNow, From: 1, To: 2, Term: 50},
	} {
		m.Cluster = b
		if err := nd.Step(m); !errors.Is(err, ErrForeignCluster) {
			t.Errorf("%s of cluster %d: err %v, want ErrForeignCluster", m.Type, b, err)
		}
		c.process()
	}
	after := nd.Status()
	if after.Term != before.Term || after.Vote != before.Vote || after.LastIndex != before.LastIndex || after.Cluster != a {
		t.Fatalf("foreign messages changed member 2: %+v -> %+v", before, after)
	}
	if after.ForeignDropped != 6 || after.ForeignCluster != b {
		t.Fatalf("ForeignDropped %d (cluster %d), want 6 (%d)", after.ForeignDropped, after.ForeignCluster, b)
	}
	// Compatibility: no cluster id is accepted (its term is adopted).
	if err := nd.Step(Message{Type: MsgHeartbeat, From: 1, To: 2, Term: before.Term + 1}); err != nil {
		t.Fatalf("heartbeat without a cluster id: %v", err)
	}
	if got := nd.Status().Term; got != before.Term+1 {
		t.Fatalf("term %d after a heartbeat of term %d without a cluster id", got, before.Term+1)
	}
}

// TestNewMemberJoinsOne: a new member that both leaders add joins the one
// whose leader reaches it first, and then refuses the other for good.
func TestNewMemberJoinsOne(t *testing.T) {
	c, a, b := twoClusters(t)
	c.addLearners(4, 7) // B reaches 7 first
	c.changeConf(1, ConfChangeSingle{AddLearner, 7})
	c.tick(10)
	c.propose(1, "a-after")
	c.propose(4, "b-after")
	c.tick(10)
	checkSides(t, c, map[NodeID]uint64{7: b}, map[NodeID]string{7: "b"})
	if !slices.Contains(c.appliedData(7), "b-after") {
		t.Fatalf("member 7 did not follow B: %v", c.appliedData(7))
	}
	if st := c.nodes[7].Status(); st.ForeignDropped == 0 || st.ForeignCluster != a {
		t.Fatalf("member 7 dropped %d messages of cluster %d, want A's (%d)", st.ForeignDropped, st.ForeignCluster, a)
	}
	if pr := c.nodes[1].Status().Progress[7]; pr.Match != 0 {
		t.Fatalf("A's leader sees member 7 matching at %d", pr.Match)
	}
}

// TestClusterIDSurvivesRestart: the founder's drawn id and a joined
// member's adopted id are persisted with the hard state.
func TestClusterIDSurvivesRestart(t *testing.T) {
	c, a, _ := twoClusters(t)
	for _, id := range []NodeID{1, 3} {
		hs, _, _ := c.stores[id].InitialState()
		if hs.Cluster != a {
			t.Fatalf("member %d stored cluster %d, want %d", id, hs.Cluster, a)
		}
		c.restart(id)
		if got := c.nodes[id].Status().Cluster; got != a {
			t.Fatalf("member %d restarted in cluster %d, want %d", id, got, a)
		}
	}
	// A wiped member knows none, and adopts its leader's again.
	c.stores[3] = NewMemoryStorage()
	c.boot[3] = nil
	c.start(3, nil)
	if got := c.nodes[3].Status().Cluster; got != 0 {
		t.Fatalf("wiped member has cluster %d", got)
	}
	c.tick(60) // 1 and 2 elect a leader (both restarted or not), which reaches 3
	if got := c.nodes[3].Status().Cluster; got != a {
		t.Fatalf("wiped member rejoined cluster %d, want %d", got, a)
	}
}

// TestFoundingClusterIDs: a lone founder draws its id from the seeded rand
// (the same seed draws the same id); founders of a multi-member
// configuration agree on an id derived from it.
func TestFoundingClusterIDs(t *testing.T) {
	c := newCluster(t, 3, nil)
	ids := map[uint64]bool{}
	for _, id := range c.ids {
		ids[c.nodes[id].Status().Cluster] = true
	}
	if len(ids) != 1 || ids[0] {
		t.Fatalf("founders of {1,2,3} hold cluster ids %v, want one non-zero", ids)
	}
	c2 := newCluster(t, 0, nil)
	c2.found(1)
	c3 := newCluster(t, 0, nil)
	c3.found(1)
	if x, y := c2.nodes[1].Status().Cluster, c3.nodes[1].Status().Cluster; x != y || x == 0 || x > MaxClusterID {
		t.Fatalf("same seed drew %d and %d", x, y)
	}
}

func leaderOf(c *cluster, ids ...NodeID) NodeID {
	var lead NodeID
	var term uint64
	for _, id := range ids {
		if st := c.nodes[id].Status(); st.Role == Leader && st.Term >= term {
			lead, term = id, st.Term
		}
	}
	return lead
}

func maxTerm(c *cluster, ids ...NodeID) uint64 {
	var t uint64
	for _, id := range ids {
		t = max(t, c.nodes[id].Status().Term)
	}
	return t
}
