package autopilot

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// fakeCore is a leader's core as far as the Tracker sees it.
type fakeCore struct {
	st          raft.Status
	proposeErr  error
	transferErr error
	proposed    []raft.ConfChange
	transfers   []raft.NodeID
}

func (c *fakeCore) Status() raft.Status { return c.st }

func (c *fakeCore) ProposeConfChange(cc raft.ConfChange) error {
	if c.proposeErr != nil {
		return c.proposeErr
	}
	c.proposed = append(c.proposed, cc)
	c.st.LastIndex++
	return nil
}

func (c *fakeCore) TransferLeadership(id raft.NodeID) error {
	c.transfers = append(c.transfers, id)
	return c.transferErr
}

// ms is a time in the tests' scenarios.
func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// The hosts of these tests tick every 10 ms with the core's defaults: an
// election timeout of 150 ms, so a grace of 600 ms; hand-over freshness
// three heartbeats, 150 ms. The dead timeout is 5 s, as is the rejoin
// delay.
var testPolicy = Config{TargetVoters: 3, DeadTimeout: 5 * time.Second}.WithDefaults()

// newTestTracker is member 1's tracker, started at 0 with conf.
func newTestTracker(conf raft.ConfState, present ...raft.NodeID) *Tracker {
	p := testPolicy
	return NewTracker(TrackerConfig{Self: 1, Policy: &p, Tick: 10 * time.Millisecond,
		Present: func() []raft.NodeID { return present }}, conf, 0)
}

func conf(voters []raft.NodeID, learners ...raft.NodeID) raft.ConfState {
	return raft.ConfState{Voters: voters, Learners: learners}
}

// lead has t's host become the leader at now, with core's last index.
func lead(t *Tracker, now time.Duration, core Core) {
	t.Observe(now, &raft.SoftState{Role: raft.Leader, Lead: t.c.Self}, nil, core)
}

// leaderCore is a leader's core whose log reaches last, members at match.
func leaderCore(last uint64, match map[raft.NodeID]uint64) *fakeCore {
	c := &fakeCore{st: raft.Status{ID: 1, Role: raft.Leader, Lead: 1, LastIndex: last, Progress: map[raft.NodeID]raft.ProgressStatus{}}}
	for id, m := range match {
		c.st.Progress[id] = raft.ProgressStatus{Match: m}
	}
	return c
}

// input runs one Tick with a planner that records what it was asked.
func input(t *Tracker, now time.Duration, core Core, applied uint64) (Input, TickResult) {
	var in Input
	t.c.Plan = func(c Config, i Input) Decision { in = i; return Plan(c, i) }
	defer func() { t.c.Plan = nil }()
	return in, t.Tick(now, core, applied)
}

func TestTrackerGraceAfterElection(t *testing.T) {
	tests := []struct {
		name string
		tick time.Duration // host tick (grace = 60 ticks)
		// heard: when member 2 was last heard from (negative: never).
		heard   time.Duration
		elected time.Duration
		now     time.Duration
		since   time.Duration
		unheard bool
		removed bool // the planner removes member 2
	}{
		{name: "never heard: silence counts from the election, less the grace",
			tick: ms(10), heard: -1, elected: ms(10_000), now: ms(10_000), since: ms(4_400), unheard: true},
		{name: "grace over: removed",
			tick: ms(10), heard: -1, elected: ms(10_000), now: ms(10_600), since: ms(5_000), unheard: true, removed: true},
		{name: "heard before the floor: counts as unheard since the floor",
			tick: ms(10), heard: ms(3_000), elected: ms(10_000), now: ms(10_100), since: ms(4_500), unheard: true},
		{name: "heard after the floor: its own silence",
			tick: ms(10), heard: ms(9_900), elected: ms(10_000), now: ms(10_000), since: ms(100)},
		{name: "a grace longer than half the dead timeout is cut to half",
			tick: ms(100), heard: -1, elected: ms(10_000), now: ms(10_000), since: ms(2_500), unheard: true},
		{name: "a young host: the floor is before its start",
			tick: ms(10), heard: -1, elected: ms(1_000), now: ms(1_000), since: ms(1_000), unheard: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testPolicy
			tr := NewTracker(TrackerConfig{Self: 1, Policy: &p, Tick: tc.tick}, conf(ids(1, 2, 3)), 0)
			if tc.heard >= 0 {
				tr.Heard(2, tc.heard)
			}
			tr.Heard(3, tc.now-ms(10))
			core := leaderCore(100, map[raft.NodeID]uint64{2: 100, 3: 100})
			lead(tr, tc.elected, core)
			tr.Heard(3, tc.now-ms(10))
			in, r := input(tr, tc.now, core, 100)
			m := in.Members[2]
			if m.SinceHeard != tc.since || m.Unheard != tc.unheard {
				t.Errorf("member 2: silent %v (unheard %v), want %v (%v)", m.SinceHeard, m.Unheard, tc.since, tc.unheard)
			}
			if got := tr.Silences(tc.now)[2]; got != tc.since {
				t.Errorf("Silences: %v, want %v", got, tc.since)
			}
			removed := r.Decision.Change != nil && slices.Contains(r.Decision.Change.Changes, remove(2))
			if removed != tc.removed {
				t.Errorf("removed %v, want %v (%s)", removed, tc.removed, r.Decision.Reason)
			}
		})
	}
}

func TestTrackerGraceOnlyOnBecomingLeader(t *testing.T) {
	tr := newTestTracker(conf(ids(1, 2, 3)))
	core := leaderCore(10, nil)
	lead(tr, ms(10_000), core)
	// A Ready that reports the same role again moves nothing.
	lead(tr, ms(12_000), core)
	if got := tr.Silences(ms(12_000))[2]; got != ms(6_400) {
		t.Fatalf("silence %v, want 6.4s (counted from the first election's floor)", got)
	}
	// Losing office and winning again does.
	tr.Observe(ms(12_000), &raft.SoftState{Role: raft.Follower, Lead: 3}, nil, core)
	lead(tr, ms(12_100), core)
	if got := tr.Silences(ms(12_100))[2]; got != ms(4_400) {
		t.Fatalf("silence %v, want 4.4s after the second election", got)
	}
}

func TestTrackerChangePending(t *testing.T) {
	tr := newTestTracker(conf(ids(1), 2))
	tr.Heard(2, ms(990))
	core := leaderCore(50, map[raft.NodeID]uint64{2: 50})
	lead(tr, ms(1_000), core)
	// The new leader's no-op (index 50) is not applied yet.
	if in, r := input(tr, ms(1_000), core, 49); !in.ChangePending || r.Decision.Change != nil {
		t.Fatalf("before the no-op applies: pending %v, change %v", in.ChangePending, r.Decision.Change)
	}
	// Applied: nothing to plan with one voter and one learner (the planner
	// keeps the voters odd), then a second learner arrives.
	tr.Observe(ms(1_000), nil, &raft.ConfState{Voters: ids(1), Learners: ids(2, 3)}, core)
	tr.Heard(2, ms(1_050))
	tr.Heard(3, ms(1_050))
	core.st.Progress[3] = raft.ProgressStatus{Match: 50}
	r := tr.Tick(ms(1_100), core, 50)
	if !r.Proposed || r.Index != 51 || !r.NewReason {
		t.Fatalf("promotion not proposed: %+v", r)
	}
	if in, r := input(tr, ms(1_200), core, 50); !in.ChangePending || r.Proposed || r.Decision.Change != nil {
		t.Fatalf("while the change is pending: %+v, pending %v", r, in.ChangePending)
	}
	// A refusal that is asked again is no error; another one is.
	core.proposeErr = raft.ErrConfChangePending
	if r := tr.Tick(ms(1_300), core, 51); r.Err != nil || r.Proposed {
		t.Fatalf("pending refusal: %+v", r)
	}
	core.proposeErr = errors.New("broken")
	if r := tr.Tick(ms(1_400), core, 51); r.Err == nil {
		t.Fatalf("a refusal went unreported: %+v", r)
	}
}

func TestTrackerRejoinDelay(t *testing.T) {
	tests := []struct {
		name   string
		after  time.Duration // since member 3 was seen leaving the configuration
		readd  bool          // member 3 was added back meanwhile (by another leader)
		added  bool          // the planner adds member 3 as a learner
		record bool          // Input.Removed still holds member 3
	}{
		{name: "just removed: not taken back", after: ms(100), record: true},
		{name: "a moment before the delay", after: testPolicy.RejoinDelay - ms(1), record: true},
		{name: "the delay over: added again", after: testPolicy.RejoinDelay, added: true},
		{name: "added back meanwhile: forgotten", after: ms(100), readd: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTracker(conf(ids(1, 2), 3), 2, 3)
			core := leaderCore(20, map[raft.NodeID]uint64{2: 20, 3: 20})
			lead(tr, ms(1_000), core)
			removedAt := ms(2_000)
			tr.Observe(removedAt, nil, &raft.ConfState{Voters: ids(1, 2)}, core)
			if tc.readd {
				tr.Observe(removedAt+ms(50), nil, &raft.ConfState{Voters: ids(1, 2), Learners: ids(3)}, core)
			}
			now := removedAt + tc.after
			tr.Heard(2, now-ms(10))
			in, r := input(tr, now, core, 20)
			_, record := in.Removed[3]
			if record != tc.record {
				t.Errorf("Removed holds 3: %v, want %v (%v)", record, tc.record, in.Removed)
			}
			added := r.Decision.Change != nil && slices.Contains(r.Decision.Change.Changes, addLearner(3))
			if added != tc.added {
				t.Errorf("added %v, want %v (%s)", added, tc.added, r.Decision.Reason)
			}
		})
	}
}

func TestTrackerLeaveRequests(t *testing.T) {
	leaveMsg := func(from raft.NodeID) *raft.Message {
		cc := raft.ConfChange{Changes: []raft.ConfChangeSingle{remove(from)}}
		return &raft.Message{Type: raft.MsgProp, From: from, To: 1,
			Entries: []raft.Entry{{Type: raft.EntryConfChange, Data: cc.Marshal()}}}
	}
	tr := newTestTracker(conf(ids(1, 2, 3)))
	core := leaderCore(30, map[raft.NodeID]uint64{2: 30, 3: 30})
	if tr.Receive(leaveMsg(2), ms(100)) {
		t.Fatal("a follower took a leave request")
	}
	lead(tr, ms(200), core)
	if tr.Receive(leaveMsg(9), ms(300)) {
		t.Fatal("a leave request from a non-member taken")
	}
	other := leaveMsg(2)
	other.Entries[0].Data = raft.ConfChange{Changes: []raft.ConfChangeSingle{remove(3)}}.Marshal()
	if tr.Receive(other, ms(300)) {
		t.Fatal("a request to remove another member taken as a leave request")
	}
	if !tr.Receive(leaveMsg(2), ms(300)) {
		t.Fatal("the leader refused a member's leave request")
	}
	tr.Heard(3, ms(390))
	in, r := input(tr, ms(400), core, 30)
	if !slices.Equal(in.Leaving, ids(2)) || r.Decision.Change == nil || !slices.Contains(r.Decision.Change.Changes, remove(2)) {
		t.Fatalf("leaving %v, decision %s", in.Leaving, r.Decision.Reason)
	}
	// Out of the configuration, it is forgotten once the dead timeout has
	// passed since it last asked; until then it is not added back, even if
	// present.
	tr.Observe(ms(500), nil, &raft.ConfState{Voters: ids(1, 3)}, core)
	if in, _ := input(tr, ms(300)+testPolicy.DeadTimeout-ms(1), core, 31); !slices.Equal(in.Leaving, ids(2)) {
		t.Fatalf("leaver forgotten too early: %v", in.Leaving)
	}
	if in, _ := input(tr, ms(300)+testPolicy.DeadTimeout, core, 31); len(in.Leaving) != 0 {
		t.Fatalf("leaver still remembered: %v", in.Leaving)
	}
	// A host that loses office forgets them all.
	tr.Receive(leaveMsg(3), ms(6_000))
	tr.Observe(ms(6_000), &raft.SoftState{Role: raft.Follower}, nil, core)
	tr.Tick(ms(6_100), core, 31)
	lead(tr, ms(7_000), core)
	if in, _ := input(tr, ms(7_000), core, 31); len(in.Leaving) != 0 {
		t.Fatalf("leavers survived a change of leader: %v", in.Leaving)
	}
	// Without a Policy the host takes none.
	bare := NewTracker(TrackerConfig{Self: 1, Tick: 10 * time.Millisecond}, conf(ids(1, 2)), 0)
	lead(bare, ms(100), core)
	if bare.Receive(leaveMsg(2), ms(200)) || bare.Tick(ms(300), core, 31).Asked {
		t.Fatal("a host without a Policy took a leave request or planned")
	}
}

func TestTrackerLeaveSteps(t *testing.T) {
	type step struct {
		now     time.Duration
		applied uint64
		action  LeaveAction
		target  raft.NodeID
		change  []raft.ConfChangeSingle
		out     bool
	}
	tests := []struct {
		name    string
		conf    raft.ConfState
		role    raft.Role
		lead    raft.NodeID
		present []raft.NodeID
		heard   map[raft.NodeID]time.Duration // last heard from, before the leave at 10 s
		after   map[raft.NodeID]time.Duration // heard from after it began
		match   map[raft.NodeID]uint64
		err     error // the core refuses proposals
		steps   []step
	}{
		{name: "a member never added is out at once",
			conf: conf(ids(2, 3)), role: raft.Follower, lead: 2,
			steps: []step{{now: ms(10_000), action: LeaveOut, out: true}}},
		{name: "a follower asks its leader to remove it",
			conf: conf(ids(1, 2, 3)), role: raft.Follower, lead: 2,
			steps: []step{{now: ms(10_000), action: LeaveAskRemoval, change: []raft.ConfChangeSingle{remove(1)}}}},
		{name: "a follower without leader waits",
			conf: conf(ids(1, 2, 3)), role: raft.Follower,
			steps: []step{{now: ms(10_000), action: LeaveNoLeader}}},
		{name: "a leader hands over to the most caught-up voter answering",
			conf: conf(ids(1, 2, 3)), role: raft.Leader, lead: 1,
			after: map[raft.NodeID]time.Duration{2: ms(10_050), 3: ms(10_050)}, match: map[raft.NodeID]uint64{2: 90, 3: 99},
			steps: []step{{now: ms(10_100), action: LeaveHandOver, target: 3}}},
		{name: "the only voter promotes its freshest caught-up learner, then hands over",
			conf: conf(ids(1), 2, 3), role: raft.Leader, lead: 1,
			after: map[raft.NodeID]time.Duration{2: ms(10_050), 3: ms(10_050)}, match: map[raft.NodeID]uint64{2: 99, 3: 80},
			steps: []step{
				{now: ms(10_100), applied: 100, action: LeavePromote, target: 2, change: []raft.ConfChangeSingle{addVoter(2)}},
				{now: ms(10_120), applied: 100, action: LeaveWait}, // the promotion is pending
			}},
		{name: "a learner heard from only before the leave is not promoted",
			conf: conf(ids(1), 2), role: raft.Leader, lead: 1,
			heard: map[raft.NodeID]time.Duration{2: ms(9_990)}, match: map[raft.NodeID]uint64{2: 100},
			steps: []step{{now: ms(10_010), applied: 100, action: LeaveWait}}},
		{name: "the only voter without learners adds the members present",
			conf: conf(ids(1)), role: raft.Leader, lead: 1, present: ids(1, 4, 5),
			steps: []step{{now: ms(10_000), applied: 100, action: LeaveAddPresent,
				change: []raft.ConfChangeSingle{addLearner(4), addLearner(5)}}}},
		{name: "the only member, nobody present: it stops",
			conf: conf(ids(1)), role: raft.Leader, lead: 1,
			steps: []step{{now: ms(10_000), applied: 100, action: LeaveAlone, out: true}}},
		{name: "nothing proposed in a joint configuration",
			conf: raft.ConfState{Voters: ids(1), VotersOutgoing: ids(1), Learners: ids(2)}, role: raft.Leader, lead: 1,
			after: map[raft.NodeID]time.Duration{2: ms(10_050)}, match: map[raft.NodeID]uint64{2: 100},
			steps: []step{{now: ms(10_100), applied: 100, action: LeaveWait}}},
		{name: "a refused promotion is reported and taken again",
			conf: conf(ids(1), 2), role: raft.Leader, lead: 1, err: raft.ErrProposalDropped,
			after: map[raft.NodeID]time.Duration{2: ms(10_050)}, match: map[raft.NodeID]uint64{2: 100},
			steps: []step{
				{now: ms(10_100), applied: 100, action: LeavePromote, target: 2, change: []raft.ConfChangeSingle{addVoter(2)}},
				{now: ms(10_110), applied: 100, action: LeavePromote, target: 2, change: []raft.ConfChangeSingle{addVoter(2)}},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTracker(tc.conf, tc.present...)
			core := leaderCore(100, tc.match)
			core.proposeErr = tc.err
			for id, at := range tc.heard {
				tr.Heard(id, at)
			}
			tr.Observe(ms(5_000), &raft.SoftState{Role: tc.role, Lead: tc.lead}, nil, core)
			for step, s := range tc.steps {
				if step == 0 {
					// The leave begins, then the answers come.
					first := tr.LeaveStep(ms(10_000), &fakeCore{st: core.st, proposeErr: errors.New("not yet")}, 0)
					if !first.First || tr.Reason() != "" || !tr.Leaving() {
						t.Fatalf("first step: %+v", first)
					}
					for id, at := range tc.after {
						tr.Heard(id, at)
					}
				}
				r := tr.LeaveStep(s.now, core, s.applied)
				if r.First {
					t.Errorf("step %d: First again", step)
				}
				var change []raft.ConfChangeSingle
				if r.Change != nil {
					change = r.Change.Changes
				}
				if r.Action != s.action || r.Target != s.target || !slices.Equal(change, s.change) || r.Out() != s.out {
					t.Errorf("step %d: %v to %d %v (out %v), want %v to %d %v (out %v)",
						step, r.Action, r.Target, change, r.Out(), s.action, s.target, s.change, s.out)
				}
				if (r.Err != nil) != (tc.err != nil && r.Change != nil && r.Action != LeaveAskRemoval) {
					t.Errorf("step %d: err %v", step, r.Err)
				}
			}
			if r := tr.Tick(ms(20_000), core, 1000); r.Asked {
				t.Errorf("a leaving host planned: %s", r.Decision.Reason)
			}
		})
	}
}

func TestTrackerHandOverTarget(t *testing.T) {
	// The leave begins at 10 s; now is 10.2 s unless said: fresh means
	// heard within 150 ms, and after 10 s; live within 5 s.
	tests := []struct {
		name  string
		now   int                 // ms; 0: 10.2 s
		heard map[raft.NodeID]int // ms; absent: never
		match map[raft.NodeID]uint64
		want  raft.NodeID
	}{
		{name: "the most caught-up of those answering now",
			heard: map[raft.NodeID]int{2: 10_100, 3: 10_150, 4: 10_190},
			match: map[raft.NodeID]uint64{2: 50, 3: 70, 4: 60}, want: 3},
		{name: "a tie goes to the lowest id",
			heard: map[raft.NodeID]int{2: 10_100, 3: 10_150, 4: 10_190},
			match: map[raft.NodeID]uint64{2: 50, 3: 70, 4: 70}, want: 3},
		{name: "a more caught-up voter not heard from lately loses to a fresh one",
			heard: map[raft.NodeID]int{2: 10_100, 3: 9_000},
			match: map[raft.NodeID]uint64{2: 50, 3: 90}, want: 2},
		{name: "nobody fresh: the most caught-up not yet given up on",
			heard: map[raft.NodeID]int{2: 8_000, 3: 9_000, 4: 1_000},
			match: map[raft.NodeID]uint64{2: 80, 3: 60, 4: 99}, want: 2},
		{name: "heard only before the leave: second rank", now: 10_100,
			heard: map[raft.NodeID]int{2: 9_990, 3: 6_000},
			match: map[raft.NodeID]uint64{2: 10, 3: 90}, want: 3},
		{name: "nobody live: the core's choice",
			heard: map[raft.NodeID]int{2: 1_000},
			match: map[raft.NodeID]uint64{2: 99}, want: raft.None},
		{name: "never heard from: never chosen",
			match: map[raft.NodeID]uint64{2: 99, 3: 99}, want: raft.None},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTracker(conf(ids(1, 2, 3, 4)))
			tr.Observe(ms(500), &raft.SoftState{Role: raft.Follower, Lead: 2}, nil, nil)
			tr.LeaveStep(ms(10_000), &fakeCore{}, 0)
			for id, at := range tc.heard {
				tr.Heard(id, ms(at))
			}
			now := cmp.Or(tc.now, 10_200)
			st := leaderCore(100, tc.match).st
			if got := tr.HandOverTarget(ids(4, 3, 2), st, ms(now)); got != tc.want {
				t.Errorf("target %d, want %d", got, tc.want)
			}
		})
	}
}

func TestTrackerSilentVotersAndLeader(t *testing.T) {
	tr := newTestTracker(conf(ids(1, 2, 3), 4))
	tr.Heard(2, ms(2_000))
	silent, least := tr.SilentVoters(ms(3_000), ms(900))
	if !slices.Equal(silent, ids(2, 3)) || least != ms(1_000) {
		t.Fatalf("silent %v (least %v), want 2, 3 (1s)", silent, least)
	}
	if d, ok := tr.LeaderlessFor(ms(3_000)); !ok || d != ms(3_000) {
		t.Fatalf("leaderless %v %v, want since the start", d, ok)
	}
	tr.Observe(ms(3_000), &raft.SoftState{Role: raft.Follower, Lead: 2}, nil, nil)
	if _, ok := tr.LeaderlessFor(ms(3_500)); ok {
		t.Fatal("leaderless with a leader known")
	}
	tr.Observe(ms(4_000), &raft.SoftState{Role: raft.Candidate}, nil, nil)
	if d, ok := tr.LeaderlessFor(ms(4_500)); !ok || d != ms(500) {
		t.Fatalf("leaderless %v %v, want 500ms", d, ok)
	}
}

func TestTrackerConfigTimes(t *testing.T) {
	p := Config{DeadTimeout: 3 * time.Second}
	for _, tc := range []struct {
		c                            TrackerConfig
		election, grace, dead, fresh time.Duration
	}{
		{c: TrackerConfig{Tick: ms(10)}, election: ms(150), grace: ms(600), dead: ms(600), fresh: ms(150)},
		{c: TrackerConfig{Tick: ms(10), ElectionTick: 10, HeartbeatTick: 2, Policy: &p},
			election: ms(100), grace: ms(400), dead: 3 * time.Second, fresh: ms(60)},
	} {
		t.Run(fmt.Sprint(tc.c.ElectionTick), func(t *testing.T) {
			if got := []time.Duration{tc.c.ElectionTimeout(), tc.c.Grace(), tc.c.DeadTimeout(), tc.c.FreshWindow()}; !slices.Equal(got,
				[]time.Duration{tc.election, tc.grace, tc.dead, tc.fresh}) {
				t.Errorf("election, grace, dead, fresh = %v", got)
			}
		})
	}
	if got := (Config{}).PlanInterval(ms(10)); got != ms(200) {
		t.Errorf("PlanInterval: %v, want 200ms", got)
	}
	if got := (Config{DeadTimeout: ms(500)}).PlanInterval(ms(10)); got != ms(50) {
		t.Errorf("PlanInterval: %v, want 50ms", got)
	}
}
