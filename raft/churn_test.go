package raft

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMembershipChurnUnderFaults drives clusters through random membership
// changes — learners added, promoted, demoted and removed, voters replaced
// one at a time and several at once through joint configurations — while
// links are cut, messages lost, members restarted and logs compacted. After
// every step it checks the safety properties that membership changes put at
// risk: at most one leader per term, one entry per applied index on every
// member (state machine safety), committed prefixes never rewritten. In the
// end, healed, every member of the final configuration holds the same state.
func TestMembershipChurnUnderFaults(t *testing.T) {
	for seed := range uint64(100) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { churn(t, seed) })
	}
}

type churner struct {
	t       *testing.T
	rng     *rand.Rand
	c       *cluster
	leaders map[uint64]NodeID // term → the one leader seen in it
	applied map[uint64]Entry  // index → the entry every member applied there
	nextID  NodeID
	changes int
}

func churn(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	ch := &churner{t: t, rng: rng, leaders: map[uint64]NodeID{}, applied: map[uint64]Entry{}, nextID: 4}
	ch.c = newCluster(t, 3, func(cfg *Config) {
		cfg.Rand = rand.New(rand.NewPCG(seed, uint64(cfg.ID)))
		cfg.SnapshotEntries = 30
		cfg.CompactionKeepEntries = 5
		cfg.SnapshotChunkSize = 64
	})
	c := ch.c
	c.drop = func(Message) bool { return rng.IntN(100) < 5 }
	for step := range 400 {
		switch k := rng.IntN(100); {
		case k < 40:
			if lead := c.leader(); lead != None {
				_ = c.nodes[lead].Propose(fmt.Appendf(nil, "s%d-%d", seed, step))
			}
		case k < 55:
			ch.changeMembership()
		case k < 58:
			c.isolate(c.ids[rng.IntN(len(c.ids))])
		case k < 62:
			// Split the members in two random groups (one-way cuts too).
			side := map[NodeID]bool{}
			for _, id := range c.ids {
				side[id] = rng.IntN(2) == 0
			}
			for _, a := range c.ids {
				for _, b := range c.ids {
					if side[a] != side[b] && rng.IntN(4) != 0 {
						c.cut[[2]NodeID{a, b}] = true
					}
				}
			}
		case k < 70:
			c.heal()
		case k < 75:
			id := c.ids[rng.IntN(len(c.ids))]
			c.restart(id)
		case k < 80:
			for _, id := range c.ids {
				if c.nodes[id].ShouldCompact() {
					c.compact(id)
				}
			}
		}
		c.tick(1 + rng.IntN(8))
		ch.check(step)
	}
	// Heal everything and let the cluster settle, then compare.
	c.heal()
	c.drop = nil
	c.tick(200)
	ch.check(-1)
	lead := c.leader()
	if lead == None {
		t.Fatalf("no leader after healing:\n%s", c)
	}
	c.propose(lead, "final")
	c.tick(20)
	final := c.nodes[lead].Members()
	want := c.appliedData(lead)
	for _, id := range slices.Concat(final.Voters, final.Learners) {
		if got := c.appliedData(id); !slices.Equal(got, want) {
			t.Fatalf("member %d of the final configuration %+v differs from the leader: %d vs %d commands",
				id, final, len(got), len(want))
		}
	}
	if ch.changes == 0 {
		t.Fatalf("the run made no membership change")
	}
}

// changeMembership proposes a random change valid for the leader's configuration.
func (ch *churner) changeMembership() {
	c := ch.c
	lead := c.leader()
	if lead == None {
		return
	}
	cs := c.nodes[lead].Members()
	if cs.IsJoint() {
		return
	}
	var changes []ConfChangeSingle
	switch k := ch.rng.IntN(5); {
	case k == 0 || len(cs.Learners) == 0:
		id := ch.nextID
		ch.nextID++
		c.join(id)
		changes = append(changes, ConfChangeSingle{AddLearner, id})
	case k == 1:
		changes = append(changes, ConfChangeSingle{AddVoter, cs.Learners[ch.rng.IntN(len(cs.Learners))]})
	case k == 2 && len(cs.Voters) > 3:
		changes = append(changes, ConfChangeSingle{RemoveMember, cs.Voters[ch.rng.IntN(len(cs.Voters))]})
	case k == 3 && len(cs.Voters) > 2:
		changes = append(changes, ConfChangeSingle{AddLearner, cs.Voters[ch.rng.IntN(len(cs.Voters))]})
	default:
		// Joint: promote every learner and retire a voter in one change.
		for _, id := range cs.Learners {
			changes = append(changes, ConfChangeSingle{AddVoter, id})
		}
		if len(cs.Voters) > 2 {
			changes = append(changes, ConfChangeSingle{RemoveMember, cs.Voters[ch.rng.IntN(len(cs.Voters))]})
		}
	}
	if err := c.nodes[lead].ProposeConfChange(ConfChange{Changes: changes}); err == nil {
		ch.changes++
	}
	c.process()
}

func (ch *churner) check(step int) {
	c := ch.c
	for _, id := range c.ids {
		n := c.nodes[id]
		st := n.Status()
		if st.Role == Leader {
			if other, ok := ch.leaders[st.Term]; ok && other != id {
				ch.t.Fatalf("step %d: two leaders in term %d: %d and %d", step, st.Term, other, id)
			}
			ch.leaders[st.Term] = id
		}
		for _, e := range c.applied[id] {
			if was, ok := ch.applied[e.Index]; ok {
				if was.Term != e.Term || string(was.Data) != string(e.Data) {
					ch.t.Fatalf("step %d: member %d applied %d/%d %q where another applied %d/%d %q",
						step, id, e.Index, e.Term, e.Data, was.Index, was.Term, was.Data)
				}
			} else {
				ch.applied[e.Index] = e
			}
		}
		l := &n.r.log
		for i := l.firstIndex(); i <= l.committed; i++ {
			if was, ok := ch.applied[i]; ok && l.entry(i).Term != was.Term {
				ch.t.Fatalf("step %d: member %d's committed entry %d has term %d, applied elsewhere with %d",
					step, id, i, l.entry(i).Term, was.Term)
			}
		}
	}
}
