package sim

// The simulated hosts run the membership planner as peer.Node does
// (peer/membership.go): each host follows the configuration it applied,
// when it last heard from every other member, who asked to leave; while it
// leads, it asks the planner every few hundred milliseconds and proposes
// what it suggests. All of it is host memory, lost at a crash.
//
// Importing peer/autopilot crosses the layering of DESIGN.md (raft/sim may
// import raft/ only). It is accepted because the planner is pure (the core
// and the standard library, no clock, no goroutine) and must be the very
// code that browser tabs and native members run: a copy here would prove
// nothing about theirs.

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/raft"
)

// apHost is one host's membership bookkeeping.
type apHost struct {
	// conf is the configuration the host applied last; role and lead as
	// its core last reported them.
	conf raft.ConfState
	role raft.Role
	lead raft.NodeID
	// seen holds, for every other member of conf, when a message from it
	// last arrived and since when one is expected.
	seen map[raft.NodeID]*heard
	// removedAt: when members were seen leaving conf (not added straight
	// back).
	removedAt map[raft.NodeID]time.Duration
	// pendingUntil: while leading, a change may be proposed once this
	// index is applied (the core's rule, mirrored).
	pendingUntil uint64
	// leavers: while leading, the members that asked to be removed, and
	// when they last asked.
	leavers map[raft.NodeID]time.Duration
	// planNow: ask the planner once the inbox is handled (a member asked
	// to leave).
	planNow bool
	// tickQueued and leaveQueued: an autopilot tick or a leave step waits
	// in the inbox.
	tickQueued, leaveQueued bool
	reason                  string
	// leavingSince is when this incarnation took its first step out.
	leavingSince time.Duration
	leavingNow   bool
}

// heard is what a host knows of another member's liveness.
type heard struct{ at, expected time.Duration }

// since is how long the member has been silent, counted from when it was
// expected to talk if it has not since.
func (h *heard) since(now time.Duration) time.Duration {
	if h.at > h.expected {
		return now - h.at
	}
	return now - h.expected
}

func (h *heard) unheard() bool { return h.at <= h.expected }

// never is a time before any message.
const never = time.Duration(-1)

// confIDs lists every member of cs, sorted.
func confIDs(cs raft.ConfState) []raft.NodeID {
	ids := slices.Concat(cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// inConf reports whether id is a voter or learner of cs, as peer.Node
// decides that it is still a member.
func inConf(cs raft.ConfState, id raft.NodeID) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.Learners, id) || slices.Contains(cs.VotersOutgoing, id)
}

// apStart resets member m's host bookkeeping as its core starts.
func (s *Simulation) apStart(m *member) {
	a := &m.ap
	*a = apHost{conf: m.node.Members(), role: raft.Follower, seen: map[raft.NodeID]*heard{},
		removedAt: map[raft.NodeID]time.Duration{}, leavers: map[raft.NodeID]time.Duration{}}
	for _, x := range confIDs(a.conf) {
		if x != m.id {
			a.seen[x] = &heard{expected: s.now}
		}
	}
	s.schedule(event{at: s.now + s.churn.planEvery, kind: evAutopilot, who: m.idx, epoch: m.epoch})
	if m.leaving {
		s.queueLeave(m)
	}
}

// apStep is a message about to be stepped into member m's core: the host
// notes it heard from the sender and, leading, takes a member's request to
// remove itself as a leave announcement for the planner (peer.Node does
// the same). It reports whether the message is consumed.
func (s *Simulation) apStep(m *member, msg *raft.Message) bool {
	a := &m.ap
	if h := a.seen[msg.From]; h != nil {
		h.at = s.now
	}
	if a.role != raft.Leader || m.leaving || !leaveRequest(msg, m.id) {
		return false
	}
	if _, member := a.seen[msg.From]; !member {
		return false
	}
	a.leavers[msg.From] = s.now
	a.planNow = true
	return true
}

// leaveRequest reports whether msg is a member's proposal to remove
// itself, forwarded to self.
func leaveRequest(msg *raft.Message, self raft.NodeID) bool {
	if msg.Type != raft.MsgProp || len(msg.Entries) != 1 || msg.Entries[0].Type != raft.EntryConfChange {
		return false
	}
	cc, err := raft.UnmarshalConfChange(msg.Entries[0].Data)
	return err == nil && !cc.LeaveJoint && len(cc.Changes) == 1 &&
		cc.Changes[0].Type == raft.RemoveMember && cc.Changes[0].Node == msg.From && msg.From != self
}

// apObserve follows the role, leader and configuration a Ready reported
// (after Advance).
func (s *Simulation) apObserve(m *member, rd *raft.Ready) {
	a := &m.ap
	if rd.SoftState == nil && rd.ConfState == nil {
		return
	}
	if ss := rd.SoftState; ss != nil {
		if ss.Role == raft.Leader && a.role != raft.Leader {
			// A new leader gives each member a grace to show up: its
			// silence counts as at most the dead timeout minus that grace.
			dead := s.churn.ap.DeadTimeout
			floor := s.now - (dead - min(4*s.electionTimeout(), dead/2))
			for _, h := range a.seen {
				h.expected = max(h.expected, floor)
			}
			a.pendingUntil = m.node.Status().LastIndex
		}
		a.role, a.lead = ss.Role, ss.Lead
	}
	if rd.ConfState != nil {
		a.conf = *rd.ConfState
		ids := confIDs(a.conf)
		for x := range a.seen {
			if !slices.Contains(ids, x) {
				delete(a.seen, x)
				a.removedAt[x] = s.now
			}
		}
		for _, x := range ids {
			if _, ok := a.seen[x]; !ok && x != m.id {
				a.seen[x] = &heard{expected: s.now}
				delete(a.removedAt, x)
			}
		}
	}
	if m.leaving {
		s.queueLeave(m)
	}
}

// autopilotWake is member m's planner timer.
func (s *Simulation) autopilotWake(m *member) {
	s.schedule(event{at: s.now + s.churn.planEvery, kind: evAutopilot, who: m.idx, epoch: m.epoch})
	if !m.ap.tickQueued {
		m.ap.tickQueued = true
		m.inbox = append(m.inbox, input{kind: inAutopilot})
		s.pump(m)
	}
}

// present lists the members a host's roster holds: every member running
// (the signaling room keeps a frozen or partitioned member, a crashed one
// leaves it), but self.
func (s *Simulation) present(self int) []raft.NodeID {
	var ids []raft.NodeID
	for _, o := range s.members {
		if o.idx != self && o.up {
			ids = append(ids, o.id)
		}
	}
	return ids
}

// autopilotTick asks the planner, while member m leads, and proposes what
// it suggests (peer.Node.autopilotTick).
func (s *Simulation) autopilotTick(m *member) {
	a, ap := &m.ap, s.churn.ap
	for x, at := range a.removedAt {
		if s.now-at >= ap.RejoinDelay {
			delete(a.removedAt, x)
		}
	}
	for x, at := range a.leavers {
		if _, member := a.seen[x]; !member && s.now-at >= ap.DeadTimeout {
			delete(a.leavers, x)
		}
	}
	if a.role != raft.Leader || m.leaving {
		a.reason = ""
		clear(a.leavers)
		return
	}
	st := m.node.Status()
	if st.Role != raft.Leader {
		return
	}
	in := autopilot.Input{Leader: m.id, Conf: a.conf, LastIndex: st.LastIndex,
		ChangePending: m.applied < a.pendingUntil,
		Members:       make(map[raft.NodeID]autopilot.Member, len(a.seen)),
		Removed:       make(map[raft.NodeID]time.Duration, len(a.removedAt)),
		Present:       s.present(m.idx)}
	for x, h := range a.seen {
		in.Members[x] = autopilot.Member{Match: st.Progress[x].Match, SinceHeard: h.since(s.now), Unheard: h.unheard()}
	}
	for x, at := range a.removedAt {
		in.Removed[x] = s.now - at
	}
	for x := range a.leavers {
		in.Leaving = append(in.Leaving, x)
	}
	slices.Sort(in.Leaving)
	d := s.plan(ap, in)
	if d.Reason != a.reason && s.nar.on() && (d.Change != nil || strings.HasPrefix(d.Reason, "no quorum")) {
		s.nar.say(s.now, "%s's planner: %s", nodeName(m.id), d.Reason)
	}
	a.reason = d.Reason
	if d.Change == nil {
		return
	}
	switch err := m.node.ProposeConfChange(*d.Change); {
	case err == nil:
		a.pendingUntil = st.LastIndex + 1
		s.proposedChange(a.conf, *d.Change, a.pendingUntil)
		s.stats.Churn.PlannerChanges++
		s.trace.mix(uint64(len(d.Change.Changes)), uint64(d.Change.Changes[0].Node))
		s.nar.say(s.now, "%s, the leader, proposes %s", nodeName(m.id), fmtConfChange(*d.Change))
	case errors.Is(err, raft.ErrConfChangePending), errors.Is(err, raft.ErrProposalDropped):
		// Asked again at the next tick.
	default:
		s.check.fail(CoreError, "n%d: the planner's change %s (%s) refused: %v", m.id, fmtConfChange(*d.Change), d.Reason, err)
	}
}

// plan is autopilot.Plan, or the wrapper a test put in its place.
func (s *Simulation) plan(c autopilot.Config, in autopilot.Input) autopilot.Decision {
	if s.planWrap != nil {
		return s.planWrap(c, in)
	}
	return autopilot.Plan(c, in)
}

// queueLeave has member m take its next step out of the cluster.
func (s *Simulation) queueLeave(m *member) {
	if !m.ap.leaveQueued && m.up {
		m.ap.leaveQueued = true
		m.inbox = append(m.inbox, input{kind: inLeave})
	}
}

// leaveStep is member m's next step out of the cluster, as
// peer.Node.Leave takes it: a leader makes sure another voter exists (the
// only voter promotes its most caught-up learner, adding the members
// present if it has none), hands leadership to the most caught-up live
// voter, then as a follower asks the leader to remove it. It reports
// whether m is out.
func (s *Simulation) leaveStep(m *member) bool {
	a := &m.ap
	if !a.leavingNow {
		a.leavingNow, a.leavingSince, a.reason = true, s.now, ""
	}
	cs := a.conf
	if !inConf(cs, m.id) {
		return true
	}
	if a.role != raft.Leader {
		if a.lead != raft.None {
			// Forwarded to the leader; refused while another change is
			// pending, and asked again.
			_ = m.node.ProposeConfChange(raft.ConfChange{Changes: []raft.ConfChangeSingle{{Type: raft.RemoveMember, Node: m.id}}})
		}
		return false
	}
	st := m.node.Status()
	var others []raft.NodeID
	for _, x := range slices.Concat(cs.Voters, cs.VotersOutgoing) {
		if x != m.id && !slices.Contains(others, x) {
			others = append(others, x)
		}
	}
	if len(others) > 0 {
		target := s.bestOf(m, others, st, s.freshWindow(), a.leavingSince)
		if target == raft.None {
			target = s.bestOf(m, others, st, s.churn.ap.DeadTimeout, never)
		}
		// Refusals (leadership already moving, a target that cannot take
		// it) are retried at the next step.
		_ = m.node.TransferLeadership(target)
		return false
	}
	canChange := m.applied >= a.pendingUntil && !cs.IsJoint()
	// Only a learner heard from since this member decided to leave.
	best := s.bestOf(m, cs.Learners, st, s.freshWindow(), a.leavingSince)
	if best == raft.None {
		var present []raft.NodeID
		for _, x := range s.present(m.idx) {
			if !inConf(cs, x) {
				present = append(present, x)
			}
		}
		if len(present) == 0 && len(cs.Learners) == 0 {
			return true // the only voter stops
		}
		if len(present) > 0 && canChange {
			cc := raft.ConfChange{}
			for _, x := range present {
				cc.Changes = append(cc.Changes, raft.ConfChangeSingle{Type: raft.AddLearner, Node: x})
			}
			if m.node.ProposeConfChange(cc) == nil {
				a.pendingUntil = st.LastIndex + 1
				s.proposedChange(cs, cc, a.pendingUntil)
				s.nar.say(s.now, "%s, leaving, adds the members present to hand the cluster over: %s", nodeName(m.id), fmtConfChange(cc))
			}
		}
		return false
	}
	if canChange {
		cc := raft.ConfChange{Changes: []raft.ConfChangeSingle{{Type: raft.AddVoter, Node: best}}}
		if m.node.ProposeConfChange(cc) == nil {
			a.pendingUntil = st.LastIndex + 1
			s.proposedChange(cs, cc, a.pendingUntil)
			s.nar.say(s.now, "%s, leaving as the only voter, promotes %s to hand leadership over", nodeName(m.id), nodeName(best))
		}
	}
	return false
}

// bestOf returns, of ids, the member m heard from within window, since it
// leads and after after, with the longest matching log, the lowest id on
// ties; raft.None if none was.
func (s *Simulation) bestOf(m *member, ids []raft.NodeID, st raft.Status, window, after time.Duration) raft.NodeID {
	best := raft.None
	for _, x := range slices.Sorted(slices.Values(ids)) {
		if h, ok := m.ap.seen[x]; !ok || h.unheard() || h.since(s.now) >= window || h.at <= after {
			continue
		}
		if best == raft.None || st.Progress[x].Match > st.Progress[best].Match {
			best = x
		}
	}
	return best
}

// freshWindow is how recently a member must have been heard from to be
// handed the cluster by a leaving leader: three heartbeats.
func (s *Simulation) freshWindow() time.Duration {
	hb := s.cfg.HeartbeatTick
	if hb <= 0 {
		hb = 5 // the core's default
	}
	return 3 * time.Duration(hb) * s.cfg.Tick
}

// electionTimeout is the cores' minimum election timeout.
func (s *Simulation) electionTimeout() time.Duration {
	et := s.cfg.ElectionTick
	if et <= 0 {
		et = 15 // the core's default
	}
	return time.Duration(et) * s.cfg.Tick
}
