package autopilot

import (
	"errors"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// Core is what a Tracker asks of the host's consensus core; *raft.Node
// has these methods. The Tracker calls it only from its own methods, on
// the host's goroutine.
type Core interface {
	Status() raft.Status
	ProposeConfChange(cc raft.ConfChange) error
	TransferLeadership(target raft.NodeID) error
}

// TrackerConfig describes the host a Tracker serves.
type TrackerConfig struct {
	// Self is the host's member id.
	Self raft.NodeID
	// Policy is the planner's configuration. Nil: the host plans nothing
	// and takes no leave requests (it still follows liveness, for its
	// health and for Leave), and a member counts as dead after Grace.
	Policy *Config
	// Tick is the host's tick interval; ElectionTick and HeartbeatTick are
	// the core's (raft.Config), zero meaning the core's defaults (15, 5).
	Tick          time.Duration
	ElectionTick  int
	HeartbeatTick int
	// Present lists the members reachable in principle (the signaling
	// room, the transport's roster). Nil: nobody.
	Present func() []raft.NodeID
	// Plan replaces the planner (tests that break it on purpose). Nil: Plan.
	Plan func(Config, Input) Decision
}

// ElectionTimeout is the core's minimum election timeout in host time.
func (c TrackerConfig) ElectionTimeout() time.Duration {
	ticks := c.ElectionTick
	if ticks <= 0 {
		ticks = 15 // the core's default
	}
	return time.Duration(ticks) * c.Tick
}

// Grace is how long without a leader, or without news of a member, is
// worth a note: a few elections. A new leader gives every member that
// long to show up (see Tracker.Observe).
func (c TrackerConfig) Grace() time.Duration { return 4 * c.ElectionTimeout() }

// DeadTimeout is how long a silent member still counts as live: the
// Policy's DeadTimeout, or Grace without a Policy.
func (c TrackerConfig) DeadTimeout() time.Duration {
	if c.Policy != nil {
		return c.Policy.WithDefaults().DeadTimeout
	}
	return c.Grace()
}

// FreshWindow is how recently a member must have been heard from to be
// handed the cluster by a leaving leader: three heartbeats. (A learner
// that died a moment ago, promoted to take over, would leave two voters of
// which one is dead: a cluster that can do nothing.)
func (c TrackerConfig) FreshWindow() time.Duration {
	hb := c.HeartbeatTick
	if hb <= 0 {
		hb = 5 // the core's default
	}
	return 3 * time.Duration(hb) * c.Tick
}

// PlanInterval is how often a leader asks the planner: every 200 ms, or a
// tenth of the dead timeout if that is shorter, and never more often than
// the host ticks.
func (c Config) PlanInterval(tick time.Duration) time.Duration {
	return max(min(200*time.Millisecond, c.WithDefaults().DeadTimeout/10), tick)
}

// Tracker is a host's membership bookkeeping around the planner: the
// configuration it applied, its role, when it last heard from every other
// member, who asked to leave, who was removed lately, whether a change is
// pending, and the steps of its own graceful leave. It is pure: times come
// in as durations since an origin of the host's choosing (its start), it
// reads no clock, starts no goroutine and does no I/O; the host calls it
// from one goroutine. peer.Node and the simulator's hosts both use it.
type Tracker struct {
	c TrackerConfig
	// policy is *c.Policy with defaults (zero without one).
	policy Config

	conf raft.ConfState
	role raft.Role
	lead raft.NodeID
	// seen holds, for every other member of conf, when a message from it
	// last arrived and since when one is expected.
	seen map[raft.NodeID]*contact
	// removedAt holds when members were seen leaving conf, so that the
	// planner does not add them straight back.
	removedAt map[raft.NodeID]time.Duration
	// leavers holds, while leading, the members that asked to be removed,
	// and when they last asked.
	leavers map[raft.NodeID]time.Duration
	// pendingUntil: while leading, a configuration change may be proposed
	// only once this index is applied (the core's own rule, mirrored so
	// that the planner does not plan in vain).
	pendingUntil uint64
	// leaderless: no leader known since noLeaderSince.
	leaderless    bool
	noLeaderSince time.Duration
	leaving       bool
	leavingSince  time.Duration
	reason        string // the planner's last reason
}

// contact is what the host knows of another member's liveness.
type contact struct {
	// heard is when a message from it last arrived; expected when the host
	// started to expect one: its own start, the other's arrival in the
	// configuration, or a new leader's grace (see Observe). It has been
	// heard from since it was expected only if heard > expected.
	heard, expected time.Duration
}

// since is how long the member has been silent, counted from when it was
// expected to talk if it has not since.
func (h *contact) since(now time.Duration) time.Duration {
	if h.heard > h.expected {
		return now - h.heard
	}
	return now - h.expected
}

func (h *contact) unheard() bool { return h.heard <= h.expected }

// NewTracker starts the bookkeeping of a host whose core starts with
// configuration conf at time now (the origin: now is usually zero). Every
// other member of conf is expected to talk from now on.
func NewTracker(c TrackerConfig, conf raft.ConfState, now time.Duration) *Tracker {
	t := &Tracker{c: c, conf: conf, role: raft.Follower,
		seen: map[raft.NodeID]*contact{}, removedAt: map[raft.NodeID]time.Duration{},
		leavers: map[raft.NodeID]time.Duration{}, leaderless: true, noLeaderSince: now}
	if c.Policy != nil {
		t.policy = c.Policy.WithDefaults()
	}
	for _, id := range MemberIDs(conf) {
		if id != c.Self {
			t.seen[id] = &contact{heard: math.MinInt64, expected: now}
		}
	}
	return t
}

// Config returns the configuration the tracker was made with.
func (t *Tracker) Config() TrackerConfig { return t.c }

// Conf is the configuration the host applied last.
func (t *Tracker) Conf() raft.ConfState { return t.conf }

// Role is the host's role as its core last reported.
func (t *Tracker) Role() raft.Role { return t.role }

// Lead is the host's leader as its core last reported (raft.None: none).
func (t *Tracker) Lead() raft.NodeID { return t.lead }

// Leaving reports whether the host took its first step out (LeaveStep).
func (t *Tracker) Leaving() bool { return t.leaving }

// Reason is the planner's last reason ("" unless the host leads with a
// Policy and is not leaving).
func (t *Tracker) Reason() string { return t.reason }

// Others lists the other members of the configuration, sorted.
func (t *Tracker) Others() []raft.NodeID {
	return slices.Sorted(maps.Keys(t.seen))
}

// IsOther reports whether id is another member of the configuration.
func (t *Tracker) IsOther(id raft.NodeID) bool {
	_, ok := t.seen[id]
	return ok
}

// Heard records a message from id (other members only) at now.
func (t *Tracker) Heard(id raft.NodeID, now time.Duration) {
	if h := t.seen[id]; h != nil {
		h.heard = now
	}
}

// Receive is a message about to be stepped into the host's core: it
// records that its sender was heard from, and reports whether the message
// is a leave request the tracker took (see LeaveRequested): then the host
// must not step it, and should plan soon.
func (t *Tracker) Receive(m *raft.Message, now time.Duration) bool {
	t.Heard(m.From, now)
	return IsLeaveRequest(m, t.c.Self) && t.LeaveRequested(m.From, now)
}

// LeaveRequested takes member id's request to be removed, made at now, as
// a leave announcement for the planner, which removes the member together
// with whatever keeps the voters odd and the cluster live (a bare removal
// could leave, say, two voters of which one just died). It reports whether
// the request was taken: only a leader with a Policy that is not leaving
// itself takes one, and only from a member.
func (t *Tracker) LeaveRequested(id raft.NodeID, now time.Duration) bool {
	if t.c.Policy == nil || t.role != raft.Leader || t.leaving || !t.IsOther(id) {
		return false
	}
	t.leavers[id] = now
	return true
}

// Observe follows the role, leader and configuration a Ready reported,
// after the host called Advance; it reports whether anything changed (the
// Ready had a soft state or a configuration).
//
// A host that becomes leader knows little of the others' liveness
// (followers talk to the leader only), so it gives each member a grace to
// show up: its silence counts as at most DeadTimeout minus Grace (half the
// dead timeout if Grace is longer). Not a whole DeadTimeout: under
// leadership that changes faster than that, a dead member would never be
// removed. And its first entry (the core's no-op) must apply before any
// change is proposed.
func (t *Tracker) Observe(now time.Duration, ss *raft.SoftState, cs *raft.ConfState, core Core) bool {
	if ss == nil && cs == nil {
		return false
	}
	if ss != nil {
		if ss.Role == raft.Leader && t.role != raft.Leader {
			dead := t.c.DeadTimeout()
			floor := now - (dead - min(t.c.Grace(), dead/2))
			for _, h := range t.seen {
				h.expected = max(h.expected, floor)
			}
			t.pendingUntil = core.Status().LastIndex
		}
		switch {
		case ss.Lead == raft.None && t.lead != raft.None:
			t.leaderless, t.noLeaderSince = true, now
		case ss.Lead != raft.None:
			t.leaderless = false
		}
		t.role, t.lead = ss.Role, ss.Lead
	}
	if cs != nil {
		t.conf = *cs
		ids := MemberIDs(t.conf)
		for id := range t.seen {
			if _, in := slices.BinarySearch(ids, id); !in {
				delete(t.seen, id)
				t.removedAt[id] = now
			}
		}
		for _, id := range ids {
			if _, ok := t.seen[id]; !ok && id != t.c.Self {
				t.seen[id] = &contact{heard: math.MinInt64, expected: now} // silence counts from its arrival
				delete(t.removedAt, id)
			}
		}
	}
	return true
}

// TickResult is what Tick did.
type TickResult struct {
	// Asked: the host leads and asked the planner; Decision is its answer.
	Asked    bool
	Decision Decision
	// NewReason: the Decision's reason differs from the previous one.
	NewReason bool
	// Proposed: the core took Decision.Change, appended at Index.
	Proposed bool
	Index    uint64
	// Err is the core's refusal of Decision.Change, other than a change
	// already pending or a dropped proposal (both asked again at the next
	// tick).
	Err error
}

// Tick is the host's planner timer (every Policy.PlanInterval, and soon
// after a leave request was taken): while the host leads, has a Policy and
// is not leaving, it asks the planner and proposes what it suggests.
// applied is the last index the host applied.
func (t *Tracker) Tick(now time.Duration, core Core, applied uint64) TickResult {
	if t.c.Policy == nil {
		return TickResult{}
	}
	for id, at := range t.removedAt {
		if now-at >= t.policy.RejoinDelay {
			delete(t.removedAt, id)
		}
	}
	for id, at := range t.leavers {
		if _, member := t.seen[id]; !member && now-at >= t.policy.DeadTimeout {
			delete(t.leavers, id) // gone: it no longer asks
		}
	}
	if t.role != raft.Leader || t.leaving {
		t.reason = ""
		clear(t.leavers)
		return TickResult{}
	}
	st := core.Status()
	if st.Role != raft.Leader {
		return TickResult{}
	}
	in := Input{Leader: t.c.Self, Conf: t.conf, LastIndex: st.LastIndex,
		ChangePending: applied < t.pendingUntil,
		Members:       make(map[raft.NodeID]Member, len(t.seen)),
		Removed:       make(map[raft.NodeID]time.Duration, len(t.removedAt)),
		Present:       t.present()}
	for id, h := range t.seen {
		in.Members[id] = Member{Match: st.Progress[id].Match, SinceHeard: h.since(now), Unheard: h.unheard()}
	}
	for id, at := range t.removedAt {
		in.Removed[id] = now - at
	}
	for id := range t.leavers {
		in.Leaving = append(in.Leaving, id)
	}
	slices.Sort(in.Leaving)
	plan := Plan
	if t.c.Plan != nil {
		plan = t.c.Plan
	}
	d := plan(*t.c.Policy, in)
	r := TickResult{Asked: true, Decision: d, NewReason: d.Reason != t.reason}
	t.reason = d.Reason
	if d.Change == nil {
		return r
	}
	switch err := core.ProposeConfChange(*d.Change); {
	case err == nil:
		t.pendingUntil = st.LastIndex + 1 // where the change was appended
		r.Proposed, r.Index = true, t.pendingUntil
	case errors.Is(err, raft.ErrConfChangePending), errors.Is(err, raft.ErrProposalDropped):
		// Asked again at the next tick.
	default:
		r.Err = err
	}
	return r
}

func (t *Tracker) present() []raft.NodeID {
	if t.c.Present == nil {
		return nil
	}
	return t.c.Present()
}

// Silences gives, for every other member of the configuration, how long
// it has been silent at now (counted from when it was expected to talk if
// it has not since: a new leader counts from its election).
func (t *Tracker) Silences(now time.Duration) map[raft.NodeID]time.Duration {
	s := make(map[raft.NodeID]time.Duration, len(t.seen))
	for id, h := range t.seen {
		s[id] = h.since(now)
	}
	return s
}

// SilentVoters lists the other voters silent for at least d at now, in
// order, and the shortest of their silences.
func (t *Tracker) SilentVoters(now, d time.Duration) ([]raft.NodeID, time.Duration) {
	var silent []raft.NodeID
	var least time.Duration
	for _, id := range MemberIDs(t.conf) {
		h, ok := t.seen[id]
		if !ok || !IsVoter(t.conf, id) || h.since(now) < d {
			continue
		}
		if len(silent) == 0 || h.since(now) < least {
			least = h.since(now)
		}
		silent = append(silent, id)
	}
	return silent, least
}

// LeaderlessFor reports how long the host has known no leader at now;
// false while it knows one. A host starts leaderless.
func (t *Tracker) LeaderlessFor(now time.Duration) (time.Duration, bool) {
	if !t.leaderless {
		return 0, false
	}
	return now - t.noLeaderSince, true
}

// MemberIDs lists every member of cs (voters, learners, outgoing voters,
// learners to be), sorted, each once.
func MemberIDs(cs raft.ConfState) []raft.NodeID {
	ids := slices.Concat(cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// IsMember reports whether id is still a member of cs: a voter, a learner
// or an outgoing voter.
func IsMember(cs raft.ConfState, id raft.NodeID) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.Learners, id) || slices.Contains(cs.VotersOutgoing, id)
}

// IsVoter reports whether id votes in cs (incoming or outgoing).
func IsVoter(cs raft.ConfState, id raft.NodeID) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.VotersOutgoing, id)
}

// IsLeaveRequest reports whether m is a member's proposal to remove itself
// (what a leaving follower proposes, forwarded to its leader), received by
// self.
func IsLeaveRequest(m *raft.Message, self raft.NodeID) bool {
	if m.Type != raft.MsgProp || len(m.Entries) != 1 || m.Entries[0].Type != raft.EntryConfChange {
		return false
	}
	cc, err := raft.UnmarshalConfChange(m.Entries[0].Data)
	return err == nil && !cc.LeaveJoint && len(cc.Changes) == 1 &&
		cc.Changes[0].Type == raft.RemoveMember && cc.Changes[0].Node == m.From && m.From != self
}
