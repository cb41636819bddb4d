package raft

import (
	"errors"
	"slices"
	"testing"
)

func TestLeaderElectedByTimeout(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.tick(40) // past 2*ElectionTick: someone must have timed out
	lead := c.leader()
	if lead == None {
		t.Fatalf("no leader after 40 ticks:\n%s", c)
	}
	for _, id := range c.ids {
		if got := c.nodes[id].r.lead; got != lead {
			t.Errorf("node %d follows %d, want %d", id, got, lead)
		}
	}
}

func TestReplicateAndApplyEverywhere(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	if c.leader() != 1 {
		t.Fatalf("1 did not win:\n%s", c)
	}
	for _, s := range []string{"a", "b", "c"} {
		c.propose(1, s)
	}
	c.tick(10) // heartbeats carry the final commit index to followers
	for _, id := range c.ids {
		if got := c.appliedData(id); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Errorf("node %d applied %q", id, got)
		}
	}
}

func TestProposalForwardedToLeader(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign(1)
	c.propose(2, "via-follower")
	c.tick(10)
	if got := c.appliedData(3); !slices.Equal(got, []string{"via-follower"}) {
		t.Fatalf("node 3 applied %q", got)
	}
}

func TestProposalWithoutLeaderFailsFast(t *testing.T) {
	c := newCluster(t, 3, nil)
	if err := c.nodes[1].Propose([]byte("x")); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("Propose with no leader = %v, want ErrNoLeader", err)
	}
}

func TestSingleNodeCommitsAlone(t *testing.T) {
	c := newCluster(t, 1, nil)
	c.campaign(1)
	c.propose(1, "solo")
	if got := c.appliedData(1); !slices.Equal(got, []string{"solo"}) {
		t.Fatalf("applied %q", got)
	}
}
