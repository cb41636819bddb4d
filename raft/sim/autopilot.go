package sim

// The simulated hosts run the membership bookkeeping of peer.Node
// (peer/membership.go) with the very same code, peer/autopilot's Tracker:
// each host follows the configuration it applied, when it last heard from
// every other member, who asked to leave; while it leads, it asks the
// planner every few hundred milliseconds and proposes what it suggests;
// a leaving host takes the Tracker's leave steps. All of it is host
// memory, lost at a crash.
//
// Importing peer/autopilot crosses the layering of DESIGN.md (raft/sim may
// import raft/ only). It is accepted because the package is pure (the core
// and the standard library, no clock, no goroutine) and must be the very
// code that browser tabs and native members run: a copy here would prove
// nothing about theirs.

import (
	"strings"
	"time"

	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/raft"
)

// apHost is one host's membership bookkeeping.
type apHost struct {
	t *autopilot.Tracker
	// planNow: ask the planner once the inbox is handled (a member asked
	// to leave).
	planNow bool
	// tickQueued and leaveQueued: an autopilot tick or a leave step waits
	// in the inbox.
	tickQueued, leaveQueued bool
}

// apStart resets member m's host bookkeeping as its core starts.
func (s *Simulation) apStart(m *member) {
	idx := m.idx
	m.ap = apHost{t: autopilot.NewTracker(autopilot.TrackerConfig{
		Self: m.id, Policy: &s.churn.ap,
		Tick: s.cfg.Tick, ElectionTick: s.cfg.ElectionTick, HeartbeatTick: s.cfg.HeartbeatTick,
		Present: func() []raft.NodeID { return s.present(idx) },
		Plan:    s.plan,
	}, m.node.Members(), s.now)}
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
	if !m.ap.t.Receive(msg, s.now) {
		return false
	}
	m.ap.planNow = true
	return true
}

// apObserve follows the role, leader and configuration a Ready reported
// (after Advance).
func (s *Simulation) apObserve(m *member, rd *raft.Ready) {
	if !m.ap.t.Observe(s.now, rd.SoftState, rd.ConfState, m.node) {
		return
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
	t := m.ap.t
	r := t.Tick(s.now, m.node, m.applied)
	if !r.Asked {
		return
	}
	d := r.Decision
	if r.NewReason && s.nar.on() && (d.Change != nil || strings.HasPrefix(d.Reason, "no quorum")) {
		s.nar.say(s.now, "%s's planner: %s", nodeName(m.id), d.Reason)
	}
	switch {
	case r.Proposed:
		s.proposedChange(t.Conf(), *d.Change, r.Index)
		s.stats.Churn.PlannerChanges++
		s.trace.mix(uint64(len(d.Change.Changes)), uint64(d.Change.Changes[0].Node))
		s.nar.say(s.now, "%s, the leader, proposes %s", nodeName(m.id), fmtConfChange(*d.Change))
	case r.Err != nil:
		s.check.fail(CoreError, "n%d: the planner's change %s (%s) refused: %v", m.id, fmtConfChange(*d.Change), d.Reason, r.Err)
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
// peer.Node.Leave takes it (autopilot.Tracker.LeaveStep). Refusals
// (leadership already moving, a change pending) are retried at the next
// step. It reports whether m is out.
func (s *Simulation) leaveStep(m *member) bool {
	r := m.ap.t.LeaveStep(s.now, m.node, m.applied)
	if r.Err != nil || r.Index == 0 {
		return r.Out()
	}
	s.proposedChange(m.ap.t.Conf(), *r.Change, r.Index)
	switch r.Action {
	case autopilot.LeaveAddPresent:
		s.nar.say(s.now, "%s, leaving, adds the members present to hand the cluster over: %s", nodeName(m.id), fmtConfChange(*r.Change))
	case autopilot.LeavePromote:
		s.nar.say(s.now, "%s, leaving as the only voter, promotes %s to hand leadership over", nodeName(m.id), nodeName(r.Target))
	}
	return r.Out()
}

// electionTimeout is the cores' minimum election timeout.
func (s *Simulation) electionTimeout() time.Duration {
	return autopilot.TrackerConfig{Tick: s.cfg.Tick, ElectionTick: s.cfg.ElectionTick}.ElectionTimeout()
}
