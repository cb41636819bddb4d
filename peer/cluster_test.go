package peer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/raft"
)

// clusterOf returns live member id's cluster id and how many of its keys
// are on its board, in one call on its loop.
func (c *apCluster) clusterOf(id raft.NodeID, keys []string) (cluster uint64, present int) {
	c.t.Helper()
	n := c.node(id)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := n.call(ctx, func() {
		cluster = n.core.Cluster()
		for _, k := range keys {
			if _, ok := c.boards[id].Get(k); ok {
				present++
			}
		}
	}); err != nil {
		c.t.Fatalf("member %x: %v", id, err)
	}
	return cluster, present
}

// checkSide waits until every member of ids is in cluster want and holds
// every key of mine, and checks none holds a key of theirs (that is not
// also one of mine: writers' keys repeat across runs).
func (c *apCluster) checkSide(ids []raft.NodeID, want uint64, mine, theirs []string) {
	c.t.Helper()
	theirs = slices.DeleteFunc(slices.Clone(theirs), func(k string) bool { return slices.Contains(mine, k) })
	for _, id := range ids {
		c.eventually(20*time.Second, fmt.Sprintf("member %x holds its cluster's writes", id), func() (bool, string) {
			cl, n := c.clusterOf(id, mine)
			return cl == want && n == len(mine), fmt.Sprintf("cluster %d (want %d), %d of %d writes", cl, want, n, len(mine))
		})
		if _, n := c.clusterOf(id, theirs); n > 0 {
			c.t.Errorf("member %x holds %d writes of the other cluster", id, n)
		}
	}
}

// TestTwoClustersInOneRoom is FoundingVoters' hazard: cluster A's members
// all stop, a new member alone in the room founds cluster B, and A's
// members come back. Both autopilots add the other cluster's members; the
// cluster ids keep them apart: every member ends in exactly one cluster,
// no acknowledged write of A or B is lost or crosses over, and Health's
// Note says another cluster is there.
func TestTwoClustersInOneRoom(t *testing.T) {
	c := newAPCluster(t, autopilot.Config{TargetVoters: 3, DeadTimeout: 500 * time.Millisecond})
	c.grow(3)
	w := c.startWriters(2, 21)
	c.waitWrites(w, 40)
	ackedA := w.halt()
	a, _ := c.clusterOf(1, nil)
	for _, id := range c.live() {
		c.crash(id)
	}

	c.start(10) // alone in the room: founds B
	c.waitConf(10*time.Second, "member 10 founds B", func(cs raft.ConfState) bool { return isVoterIn(cs, 10) })
	w = c.startWriters(2, 22)
	c.waitWrites(w, 40)
	ackedB := w.halt()
	b, _ := c.clusterOf(10, nil)
	if a == 0 || b == 0 || a == b {
		t.Fatalf("cluster ids A %d, B %d: want two distinct non-zero ids", a, b)
	}

	for _, id := range []raft.NodeID{1, 2, 3} {
		c.start(id) // restarts from its storage, in A
	}
	// Let both autopilots see each other's members and try to add them.
	c.eventually(20*time.Second, "a note about the other cluster", func() (bool, string) {
		for _, id := range c.live() {
			if h, ok := c.view(id); ok && strings.Contains(h.Note, "another cluster") {
				return true, h.Note
			}
		}
		return false, "no member noticed"
	})
	c.checkSide([]raft.NodeID{1, 2, 3}, a, ackedA, ackedB)
	c.checkSide([]raft.NodeID{10}, b, ackedB, ackedA)

	// A new member present with both joins exactly one of them.
	c.start(11)
	c.eventually(20*time.Second, "member 11 joins a cluster", func() (bool, string) {
		cl, _ := c.clusterOf(11, nil)
		return cl != 0, "no cluster yet"
	})
	if cl, _ := c.clusterOf(11, nil); cl == a {
		c.checkSide([]raft.NodeID{11}, a, ackedA, ackedB)
	} else {
		c.checkSide([]raft.NodeID{11}, b, ackedB, ackedA)
	}
}

// TestRecoverAloneKeepsOldMembersOut: RecoverAlone starts a new cluster
// under a new id; the old cluster's members, back with their storage, do
// not mix into it (nor it into them).
func TestRecoverAloneKeepsOldMembersOut(t *testing.T) {
	c := newAPCluster(t, autopilot.Config{TargetVoters: 3, DeadTimeout: 500 * time.Millisecond})
	lead := c.grow(3)
	w := c.startWriters(2, 31)
	c.waitWrites(w, 40)
	acked := w.halt()
	old, _ := c.clusterOf(lead, nil)
	for _, id := range c.live() {
		c.crash(id)
	}
	if _, err := RecoverAlone(c.stores[lead], board.New(), lead); err != nil {
		t.Fatal(err)
	}
	c.start(lead)
	c.waitConf(10*time.Second, "the survivor leads alone", func(cs raft.ConfState) bool { return len(cs.Voters) == 1 })
	w = c.startWriters(1, 32)
	c.waitWrites(w, 20)
	after := w.halt()
	recovered, _ := c.clusterOf(lead, nil)
	if recovered == 0 || recovered == old {
		t.Fatalf("recovered cluster id %d, old %d: want a new one", recovered, old)
	}
	var others []raft.NodeID
	for id := raft.NodeID(1); id <= 3; id++ {
		if id != lead {
			others = append(others, id)
			c.start(id) // back with the old cluster's log
		}
	}
	c.eventually(20*time.Second, "the survivor notes the old cluster", func() (bool, string) {
		h, _ := c.view(lead)
		return strings.Contains(h.Note, fmt.Sprintf("another cluster (id %d)", old)), h.Note
	})
	c.checkSide([]raft.NodeID{lead}, recovered, append(acked, after...), nil)
	c.checkSide(others, old, acked, after)
}
