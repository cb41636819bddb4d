package autopilot

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// The leader is member 1 in every scenario, its last index 5000; the
// dead timeout 5 s (the default).
const last = 5000

// up is a live member whose log matches up to match; down one silent for
// ten seconds.
func up(match uint64) Member   { return Member{Match: match, SinceHeard: 80 * time.Millisecond} }
func down(match uint64) Member { return Member{Match: match, SinceHeard: 10 * time.Second} }

func ids(v ...raft.NodeID) []raft.NodeID { return v }

func view(voters, learners []raft.NodeID, members map[raft.NodeID]Member) Input {
	return Input{Leader: 1, LastIndex: last,
		Conf:    raft.ConfState{Voters: voters, Learners: learners},
		Members: members}
}

func addVoter(id raft.NodeID) raft.ConfChangeSingle {
	return raft.ConfChangeSingle{Type: raft.AddVoter, Node: id}
}
func addLearner(id raft.NodeID) raft.ConfChangeSingle {
	return raft.ConfChangeSingle{Type: raft.AddLearner, Node: id}
}
func remove(id raft.NodeID) raft.ConfChangeSingle {
	return raft.ConfChangeSingle{Type: raft.RemoveMember, Node: id}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		in     Input
		want   []raft.ConfChangeSingle // nil: nothing to do
		reason string                  // a part of the reason
	}{
		{
			name:   "a founder alone stays alone",
			in:     view(ids(1), nil, nil),
			reason: "stable: 1 voters",
		},
		{
			name: "a member present in the room joins as a learner",
			in: func() Input {
				in := view(ids(1), nil, nil)
				in.Present = ids(2)
				return in
			}(),
			want:   []raft.ConfChangeSingle{addLearner(2)},
			reason: "add learners 2",
		},
		{
			name:   "one voter and one caught-up learner: no two-voter cluster",
			in:     view(ids(1), ids(2), map[raft.NodeID]Member{2: up(last)}),
			reason: "stable: 1 voters, 1 learners",
		},
		{
			name:   "1 → 3: two caught-up learners promoted at once",
			in:     view(ids(1), ids(2, 3), map[raft.NodeID]Member{2: up(last), 3: up(last - 10)}),
			want:   []raft.ConfChangeSingle{addVoter(2), addVoter(3)},
			reason: "promote 2, 3 (1 → 3 voters)",
		},
		{
			name:   "a learner still catching up is not counted",
			in:     view(ids(1), ids(2, 3), map[raft.NodeID]Member{2: up(last), 3: up(last - DefaultCatchUpLag - 1)}),
			reason: "1 catching up",
		},
		{
			name:   "a learner that acknowledged nothing is not caught up, even on a short log",
			in:     Input{Leader: 1, LastIndex: 3, Conf: raft.ConfState{Voters: ids(1), Learners: ids(2, 3)}, Members: map[raft.NodeID]Member{2: up(3), 3: up(0)}},
			reason: "stable",
		},
		{
			name: "a learner not heard from since the election is not promoted",
			in: view(ids(1), ids(2, 3), map[raft.NodeID]Member{
				2: up(last), 3: {Match: last, SinceHeard: 100 * time.Millisecond, Unheard: true}}),
			reason: "stable",
		},
		{
			name: "a learner heard from a while ago (not dead yet) is not promoted",
			in: view(ids(1), ids(2, 3), map[raft.NodeID]Member{
				2: up(last), 3: {Match: last, SinceHeard: 2 * time.Second}}),
			reason: "stable",
		},
		{
			name: "a voter not heard from since the election is the one demoted",
			in: view(ids(1, 2, 3, 4), nil, map[raft.NodeID]Member{
				2: up(last - 10), 3: {Match: last, SinceHeard: time.Second, Unheard: true}, 4: up(last - 20)}),
			want: []raft.ConfChangeSingle{addLearner(3)},
		},
		{
			name: "3 → 5",
			in: view(ids(1, 2, 3), ids(4, 5), map[raft.NodeID]Member{
				2: up(last), 3: up(last), 4: up(last), 5: up(last)}),
			want:   []raft.ConfChangeSingle{addVoter(4), addVoter(5)},
			reason: "promote 4, 5 (3 → 5 voters)",
		},
		{
			name: "three voters and one learner: stays at three",
			in: view(ids(1, 2, 3), ids(4), map[raft.NodeID]Member{
				2: up(last), 3: up(last), 4: up(last)}),
			reason: "stable: 3 voters, 1 learners",
		},
		{
			name: "the most caught-up learners are promoted",
			cfg:  Config{TargetVoters: 3},
			in: view(ids(1), ids(2, 3, 4, 5), map[raft.NodeID]Member{
				2: up(last - 500), 3: up(last), 4: up(last - 100), 5: up(last - 900)}),
			want: []raft.ConfChangeSingle{addVoter(3), addVoter(4)},
		},
		{
			name: "stays at five with extra learners",
			in: view(ids(1, 2, 3, 4, 5), ids(6, 7), map[raft.NodeID]Member{
				2: up(last), 3: up(last), 4: up(last), 5: up(last), 6: up(last), 7: up(last)}),
			reason: "stable: 5 voters, 2 learners",
		},
		{
			name: "target 3: five voters shrink to three, the least caught up demoted",
			cfg:  Config{TargetVoters: 3},
			in: view(ids(1, 2, 3, 4, 5), nil, map[raft.NodeID]Member{
				2: up(last), 3: up(last - 50), 4: up(last), 5: up(last - 20)}),
			want:   []raft.ConfChangeSingle{addLearner(3), addLearner(5)},
			reason: "demote 3, 5",
		},
		{
			name: "a dead voter is replaced by a caught-up learner in the same change",
			in: view(ids(1, 2, 3), ids(4), map[raft.NodeID]Member{
				2: up(last), 3: down(700), 4: up(last)}),
			want:   []raft.ConfChangeSingle{remove(3), addVoter(4)},
			reason: "remove 3 (silent for 10s or more); promote 4 (3 → 3 voters)",
		},
		{
			name: "a dead voter with no learner to replace it: a live voter is demoted, 3 → 1",
			in: view(ids(1, 2, 3), nil, map[raft.NodeID]Member{
				2: up(last), 3: down(700)}),
			want:   []raft.ConfChangeSingle{remove(3), addLearner(2)},
			reason: "demote 2 to keep an odd number of voters (3 → 1)",
		},
		{
			name: "a dead voter among five, no learner: 5 → 3",
			in: view(ids(1, 2, 3, 4, 5), nil, map[raft.NodeID]Member{
				2: up(last), 3: up(last - 5), 4: down(last), 5: up(last)}),
			want: []raft.ConfChangeSingle{remove(4), addLearner(3)},
		},
		{
			name: "a dead voter and a learner still catching up: demote now, promote later",
			in: view(ids(1, 2, 3), ids(4), map[raft.NodeID]Member{
				2: up(last), 3: down(last), 4: up(10)}),
			want: []raft.ConfChangeSingle{remove(3), addLearner(2)},
		},
		{
			name: "two dead voters of five, with quorum: both removed",
			in: view(ids(1, 2, 3, 4, 5), nil, map[raft.NodeID]Member{
				2: up(last), 3: up(last), 4: down(last), 5: down(last)}),
			want:   []raft.ConfChangeSingle{remove(4), remove(5)},
			reason: "remove 4, 5",
		},
		{
			name: "a dead learner is removed",
			in: view(ids(1), ids(2, 3), map[raft.NodeID]Member{
				2: down(last), 3: up(last)}),
			want: []raft.ConfChangeSingle{remove(2)},
		},
		{
			name: "the leader is never removed, even if listed silent or leaving",
			in: func() Input {
				in := view(ids(1, 2, 3), nil, map[raft.NodeID]Member{1: down(0), 2: up(last), 3: up(last)})
				in.Leaving = ids(1)
				return in
			}(),
			reason: "stable: 3 voters",
		},
		{
			name: "the leader is never the one demoted",
			in: view(ids(1, 2), nil, map[raft.NodeID]Member{
				2: up(last)}),
			want:   []raft.ConfChangeSingle{addLearner(2)},
			reason: "(2 → 1)",
		},
		{
			name: "two voters (a leader handing over) and a caught-up learner: 2 → 3",
			in: view(ids(1, 2), ids(3), map[raft.NodeID]Member{
				2: up(last), 3: up(last)}),
			want: []raft.ConfChangeSingle{addVoter(3)},
		},
		{
			name: "everybody dead but the leader: no change could commit",
			in: view(ids(1, 2, 3), ids(4), map[raft.NodeID]Member{
				2: down(last), 3: down(last), 4: up(last)}),
			reason: "no quorum: voters 2, 3 silent for 10s or more; 1 of 3 voters live, a change needs 2",
		},
		{
			name: "three of five dead: no quorum",
			in: view(ids(1, 2, 3, 4, 5), nil, map[raft.NodeID]Member{
				2: up(last), 3: down(last), 4: down(last), 5: down(last)}),
			reason: "no quorum",
		},
		{
			name: "a leaving voter goes at once, replaced by a learner",
			in: func() Input {
				in := view(ids(1, 2, 3), ids(4), map[raft.NodeID]Member{
					2: up(last), 3: up(last), 4: up(last)})
				in.Leaving = ids(2)
				return in
			}(),
			want:   []raft.ConfChangeSingle{remove(2), addVoter(4)},
			reason: "remove 2 (leaving)",
		},
		{
			name: "a leaving learner still catching up stays until it has the removal",
			in: func() Input {
				in := view(ids(1), ids(2), map[raft.NodeID]Member{2: up(0)})
				in.Leaving = ids(2)
				return in
			}(),
			reason: "stable",
		},
		{
			name: "a leaving member that died is removed",
			in: func() Input {
				in := view(ids(1), ids(2), map[raft.NodeID]Member{2: down(0)})
				in.Leaving = ids(2)
				return in
			}(),
			want: []raft.ConfChangeSingle{remove(2)},
		},
		{
			name: "a leaving voter still catching up is demoted first when voters must shrink",
			in: func() Input {
				in := view(ids(1, 2, 3, 4), nil, map[raft.NodeID]Member{2: up(last), 3: up(10), 4: up(last - 5)})
				in.Leaving = ids(3)
				return in
			}(),
			want: []raft.ConfChangeSingle{addLearner(3)},
		},
		{
			name: "a leaving member present in the room is not added",
			in: func() Input {
				in := view(ids(1), nil, nil)
				in.Present, in.Leaving = ids(2, 3), ids(3)
				return in
			}(),
			want: []raft.ConfChangeSingle{addLearner(2)},
		},
		{
			name: "a member removed a moment ago is not taken straight back",
			in: func() Input {
				in := view(ids(1), nil, nil)
				in.Present = ids(2, 3)
				in.Removed = map[raft.NodeID]time.Duration{2: time.Second, 3: 6 * time.Second}
				return in
			}(),
			want: []raft.ConfChangeSingle{addLearner(3)},
		},
		{
			name: "members already in the configuration are not added again",
			in: func() Input {
				in := view(ids(1, 2, 3), ids(4), map[raft.NodeID]Member{2: up(last), 3: up(last), 4: up(5)})
				in.Present = ids(1, 2, 3, 4, 4, 0)
				return in
			}(),
			reason: "stable",
		},
		{
			name: "a member missing from the view is neither removed nor promoted",
			in:   view(ids(1, 2, 3), ids(4, 5), map[raft.NodeID]Member{2: up(last), 4: up(last)}),
		},
		{
			name: "nothing while a change is pending",
			in: func() Input {
				in := view(ids(1), ids(2, 3), map[raft.NodeID]Member{2: up(last), 3: up(last)})
				in.ChangePending = true
				return in
			}(),
			reason: "pending",
		},
		{
			name: "nothing while the configuration is joint",
			in: Input{Leader: 1, LastIndex: last, Conf: raft.ConfState{Voters: ids(1, 2, 3), VotersOutgoing: ids(1)},
				Members: map[raft.NodeID]Member{2: up(last), 3: down(last)}},
			reason: "joint",
		},
		{
			name:   "even target counts as the odd number below it",
			cfg:    Config{TargetVoters: 4},
			in:     view(ids(1), ids(2, 3, 4), map[raft.NodeID]Member{2: up(last), 3: up(last), 4: up(last)}),
			want:   []raft.ConfChangeSingle{addVoter(2), addVoter(3)},
			reason: "(1 → 3 voters)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Plan(tt.cfg, tt.in)
			var got []raft.ConfChangeSingle
			if d.Change != nil {
				got = d.Change.Changes
				if len(got) == 0 {
					t.Fatalf("a change with no single changes: %+v", d)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("change = %v, want %v (reason %q)", got, tt.want, d.Reason)
			}
			if !strings.Contains(d.Reason, tt.reason) || d.Reason == "" {
				t.Errorf("reason = %q, want it to contain %q", d.Reason, tt.reason)
			}
		})
	}
}

func TestPlanCombinedChangeAddsNewcomers(t *testing.T) {
	in := view(ids(1, 2, 3), ids(4, 5, 6), map[raft.NodeID]Member{
		2: up(last), 3: down(last), 4: up(last), 5: up(last), 6: down(0)})
	in.Present = ids(7)
	d := Plan(Config{}, in)
	// Live: 1, 2, 4, 5 — four, so three voters.
	want := []raft.ConfChangeSingle{remove(3), remove(6), addVoter(4), addLearner(7)}
	if d.Change == nil || !slices.Equal(d.Change.Changes, want) {
		t.Fatalf("plan = %+v, want %v", d, want)
	}
	for _, part := range []string{"remove 3, 6", "promote 4 (3 → 3 voters)", "add learners 7"} {
		if !strings.Contains(d.Reason, part) {
			t.Errorf("reason %q lacks %q", d.Reason, part)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{TargetVoters: 1}, true},
		{Config{TargetVoters: 7, DeadTimeout: time.Second, CatchUpLag: 10}, true},
		{Config{TargetVoters: 4}, false},
		{Config{TargetVoters: -3}, false},
		{Config{DeadTimeout: -time.Second}, false},
		{Config{RejoinDelay: -time.Second}, false},
	} {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.cfg, err, tt.ok)
		}
	}
	d := Config{}.WithDefaults()
	if d.TargetVoters != 5 || d.DeadTimeout != 5*time.Second || d.CatchUpLag != DefaultCatchUpLag || d.RejoinDelay != d.DeadTimeout {
		t.Fatalf("defaults = %+v", d)
	}
}

// apply is what the core does with a change (enough of it for the checks
// below); it reports whether the change is valid.
func apply(cs raft.ConfState, cc raft.ConfChange) (raft.ConfState, bool) {
	voters, learners := map[raft.NodeID]bool{}, map[raft.NodeID]bool{}
	for _, id := range cs.Voters {
		voters[id] = true
	}
	for _, id := range cs.Learners {
		learners[id] = true
	}
	seen := map[raft.NodeID]bool{}
	for _, c := range cc.Changes {
		if seen[c.Node] || c.Node == raft.None {
			return cs, false // one change per member
		}
		seen[c.Node] = true
		switch c.Type {
		case raft.AddVoter:
			if !learners[c.Node] {
				return cs, false // only caught-up learners become voters
			}
			delete(learners, c.Node)
			voters[c.Node] = true
		case raft.AddLearner:
			delete(voters, c.Node)
			learners[c.Node] = true
		case raft.RemoveMember:
			if !voters[c.Node] && !learners[c.Node] {
				return cs, false
			}
			delete(voters, c.Node)
			delete(learners, c.Node)
		}
	}
	var out raft.ConfState
	for id := range voters {
		out.Voters = append(out.Voters, id)
	}
	for id := range learners {
		out.Learners = append(out.Learners, id)
	}
	slices.Sort(out.Voters)
	slices.Sort(out.Learners)
	return out, len(out.Voters) > 0
}

// TestPlanProperties checks every plan for random views: valid, leader
// kept as a voter, voters odd and within the target once the change is
// in, only live caught-up members promoted, no live member removed unless
// it is leaving.
func TestPlanProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		cfg := Config{TargetVoters: 1 + 2*rng.IntN(4), DeadTimeout: time.Second, CatchUpLag: 50}
		n := 1 + rng.IntN(9)
		in := Input{Leader: 1, LastIndex: 100 + uint64(rng.IntN(100)), Members: map[raft.NodeID]Member{},
			Removed: map[raft.NodeID]time.Duration{}}
		in.Conf.Voters = ids(1)
		for id := raft.NodeID(2); id <= raft.NodeID(n); id++ {
			switch rng.IntN(3) {
			case 0:
				in.Conf.Voters = append(in.Conf.Voters, id)
			case 1:
				in.Conf.Learners = append(in.Conf.Learners, id)
			default:
				in.Present = append(in.Present, id)
			}
			if rng.IntN(4) > 0 {
				in.Members[id] = Member{Match: uint64(rng.IntN(int(in.LastIndex) + 1)),
					SinceHeard: time.Duration(rng.IntN(1500)) * time.Millisecond, Unheard: rng.IntN(4) == 0}
			}
			if rng.IntN(8) == 0 {
				in.Leaving = append(in.Leaving, id)
			}
			if rng.IntN(8) == 0 {
				in.Removed[id] = time.Duration(rng.IntN(2000)) * time.Millisecond
			}
		}
		d := Plan(cfg, in)
		name := fmt.Sprintf("case %d: cfg %+v in %+v → %+v", i, cfg, in, d)
		if d.Reason == "" {
			t.Fatalf("%s: no reason", name)
		}
		live := 0
		for _, id := range in.Conf.Voters {
			if m, ok := in.Members[id]; id == 1 || !ok || m.SinceHeard < cfg.DeadTimeout {
				live++
			}
		}
		if d.Change == nil {
			if v := len(in.Conf.Voters); live > v/2 && (v%2 == 0 || v > cfg.TargetVoters) {
				t.Fatalf("%s: %d voters left alone", name, v)
			}
			continue
		}
		if live <= len(in.Conf.Voters)/2 {
			t.Fatalf("%s: a change planned without a live quorum", name)
		}
		next, ok := apply(in.Conf, *d.Change)
		if !ok {
			t.Fatalf("%s: invalid change", name)
		}
		if !slices.Contains(next.Voters, 1) {
			t.Fatalf("%s: the leader lost its vote", name)
		}
		if v := len(next.Voters); v%2 == 0 || v > cfg.TargetVoters {
			t.Fatalf("%s: %d voters after the change", name, v)
		}
		for _, c := range d.Change.Changes {
			m, known := in.Members[c.Node]
			leaving := slices.Contains(in.Leaving, c.Node)
			switch c.Type {
			case raft.AddVoter:
				if !known || !cfg.Responsive(m) || m.Match == 0 || m.Match+cfg.CatchUpLag < in.LastIndex || leaving {
					t.Fatalf("%s: promoted %d, which is not live and caught up", name, c.Node)
				}
			case raft.RemoveMember:
				if !leaving && (!known || m.SinceHeard < cfg.DeadTimeout) {
					t.Fatalf("%s: removed %d, which is live and not leaving", name, c.Node)
				}
				if leaving && m.SinceHeard < cfg.DeadTimeout && (m.Match == 0 || m.Match+cfg.CatchUpLag < in.LastIndex) {
					t.Fatalf("%s: removed %d, leaving but not caught up", name, c.Node)
				}
			case raft.AddLearner:
				if slices.Contains(in.Conf.Voters, c.Node) && !leaving {
					// A staying voter is demoted only if no leaving one could be.
					for _, v := range next.Voters {
						if slices.Contains(in.Leaving, v) {
							t.Fatalf("%s: demoted %d, kept %d, which is leaving", name, c.Node, v)
						}
					}
				}
			}
		}
	}
}
