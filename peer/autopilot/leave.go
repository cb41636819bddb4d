package autopilot

import (
	"math"
	"slices"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// LeaveAction says what a LeaveStep did.
type LeaveAction uint8

// Leave actions.
const (
	// LeaveWait: nothing to do now (a change is pending, or the only voter
	// waits for a learner to answer); step again when something changes.
	LeaveWait LeaveAction = iota
	// LeaveOut: the host is no longer a member; it may stop.
	LeaveOut
	// LeaveAlone: the host is the only voter and nobody is there to hand
	// the cluster over to; it may stop (its storage keeps the state).
	LeaveAlone
	// LeaveNoLeader: a follower that knows no leader to ask; wait.
	LeaveNoLeader
	// LeaveAskRemoval: a follower asked the leader to remove it (Change,
	// forwarded by the core; Err if the core refused).
	LeaveAskRemoval
	// LeaveHandOver: a leader with other voters asked the core to hand
	// leadership to Target (raft.None: the core's choice; Err if refused).
	LeaveHandOver
	// LeaveAddPresent: the only voter, with no learner answering, proposed
	// to add the members present as learners (Change; Err if refused).
	LeaveAddPresent
	// LeavePromote: the only voter proposed to promote the learner Target,
	// to hand leadership over to it next (Change; Err if refused).
	LeavePromote
)

var leaveActionNames = [...]string{"wait", "out", "alone", "no leader", "ask removal", "hand over", "add present", "promote"}

func (a LeaveAction) String() string {
	if int(a) < len(leaveActionNames) {
		return leaveActionNames[a]
	}
	return "unknown"
}

// LeaveResult is what LeaveStep did.
type LeaveResult struct {
	Action LeaveAction
	// First: this was the host's first step out.
	First bool
	// Target is the hand-over target (LeaveHandOver) or the learner
	// promoted (LeavePromote).
	Target raft.NodeID
	// Change is the change proposed (LeaveAskRemoval, LeaveAddPresent,
	// LeavePromote); when the core took it from a leader, it was appended
	// at Index.
	Change *raft.ConfChange
	Index  uint64
	// Err is the core's refusal of the change or the transfer.
	Err error
}

// Out reports whether the host is done leaving: out of the configuration,
// or the only member with nobody to hand over to.
func (r LeaveResult) Out() bool { return r.Action == LeaveOut || r.Action == LeaveAlone }

// anyTime is before every time a host passes.
const anyTime = time.Duration(math.MinInt64)

// LeaveStep takes the host's next step out of the cluster at now (applied
// is the last index it applied); the host calls it again whenever its
// role, leader or configuration changes, and every few election timeouts,
// until the result is Out. From the first step on the host plans nothing.
//
// A follower asks its leader to remove it. A leader first makes sure
// another voter exists: the only voter promotes its most caught-up learner
// that answered since the leave began, or, with none, adds the members
// present as learners and waits for one to answer. A leader with other
// voters hands leadership to the most caught-up voter that answers now
// (heard from within FreshWindow, since the leave began), failing that one
// not yet given up on (within DeadTimeout), failing that the core's choice;
// then, a follower, it asks the new leader to remove it.
func (t *Tracker) LeaveStep(now time.Duration, core Core, applied uint64) LeaveResult {
	var r LeaveResult
	if !t.leaving {
		t.leaving, t.leavingSince, t.reason = true, now, ""
		r.First = true
	}
	cs := t.conf
	if !IsMember(cs, t.c.Self) {
		r.Action = LeaveOut
		return r
	}
	if t.role != raft.Leader {
		if t.lead == raft.None {
			r.Action = LeaveNoLeader
			return r
		}
		// Forwarded to the leader; refused while another change is
		// pending, and asked again.
		cc := raft.ConfChange{Changes: []raft.ConfChangeSingle{{Type: raft.RemoveMember, Node: t.c.Self}}}
		r.Action, r.Change, r.Err = LeaveAskRemoval, &cc, core.ProposeConfChange(cc)
		return r
	}
	st := core.Status()
	var others []raft.NodeID
	for _, id := range slices.Concat(cs.Voters, cs.VotersOutgoing) {
		if id != t.c.Self && !slices.Contains(others, id) {
			others = append(others, id)
		}
	}
	if len(others) > 0 {
		target := t.HandOverTarget(others, st, now)
		r.Action, r.Target, r.Err = LeaveHandOver, target, core.TransferLeadership(target)
		return r
	}
	canChange := applied >= t.pendingUntil && !cs.IsJoint()
	// Only a learner heard from since the leave began: one that died a
	// moment before, promoted, would leave two voters of which one is
	// dead — a cluster that can do nothing.
	best := t.bestOf(cs.Learners, st, now, t.c.FreshWindow(), t.leavingSince)
	if best == raft.None {
		// Nobody answers now to hand over to: take in whoever is present,
		// and wait for someone to answer.
		var present []raft.NodeID
		for _, id := range t.present() {
			if id != raft.None && !IsMember(cs, id) {
				present = append(present, id)
			}
		}
		if len(present) == 0 && len(cs.Learners) == 0 {
			r.Action = LeaveAlone
			return r
		}
		if len(present) == 0 || !canChange {
			return r
		}
		cc := raft.ConfChange{}
		for _, id := range present {
			cc.Changes = append(cc.Changes, raft.ConfChangeSingle{Type: raft.AddLearner, Node: id})
		}
		r.Action, r.Change = LeaveAddPresent, &cc
		t.propose(&r, core, st)
		return r
	}
	if !canChange {
		return r
	}
	cc := raft.ConfChange{Changes: []raft.ConfChangeSingle{{Type: raft.AddVoter, Node: best}}}
	r.Action, r.Target, r.Change = LeavePromote, best, &cc
	t.propose(&r, core, st)
	return r
}

// propose hands r.Change to core, a leader's whose status is st.
func (t *Tracker) propose(r *LeaveResult, core Core, st raft.Status) {
	if r.Err = core.ProposeConfChange(*r.Change); r.Err == nil {
		t.pendingUntil = st.LastIndex + 1
		r.Index = t.pendingUntil
	}
}

// HandOverTarget chooses, of the voters ids, whom a leaving leader hands
// leadership to at now: the most caught-up (st.Progress) voter heard from
// within FreshWindow since the leave began; failing that, the most
// caught-up heard from within DeadTimeout; failing that raft.None (the
// core's choice). Ties go to the lowest id.
func (t *Tracker) HandOverTarget(ids []raft.NodeID, st raft.Status, now time.Duration) raft.NodeID {
	target := t.bestOf(ids, st, now, t.c.FreshWindow(), t.leavingSince)
	if target == raft.None {
		target = t.bestOf(ids, st, now, t.c.DeadTimeout(), anyTime)
	}
	return target
}

// bestOf returns, of ids, the member heard from within window at now (and
// since it was expected to talk, and after after) with the longest
// matching log, the lowest id on ties; raft.None if none was.
func (t *Tracker) bestOf(ids []raft.NodeID, st raft.Status, now, window, after time.Duration) raft.NodeID {
	best := raft.None
	for _, id := range slices.Sorted(slices.Values(ids)) {
		if h, ok := t.seen[id]; !ok || h.unheard() || h.since(now) >= window || h.heard <= after {
			continue
		}
		if best == raft.None || st.Progress[id].Match > st.Progress[best].Match {
			best = id
		}
	}
	return best
}
