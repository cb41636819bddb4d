package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/raft"
)

// membership is the loop's view of the cluster's membership: who is in
// the configuration, when each member was last heard from, what the
// autopilot said last. Owned by the loop goroutine.
type membership struct {
	started time.Time
	conf    raft.ConfState // the configuration this member applied last
	role    raft.Role
	lead    raft.NodeID
	// seen holds, for every other member of conf, when a message from it
	// last arrived and since when it is expected to talk.
	seen map[raft.NodeID]*seen
	// removedAt holds when members were seen leaving conf, so that the
	// autopilot does not add them straight back.
	removedAt map[raft.NodeID]time.Time
	// noLeaderSince is when this member last lost its leader (zero while
	// one is known).
	noLeaderSince time.Time
	// pendingUntil: while leading, a configuration change may be proposed
	// only once this index is applied (the core's own rule, mirrored so
	// that the autopilot does not plan in vain).
	pendingUntil uint64
	leaving      bool
	leavingSince time.Time
	// leavers holds, while leading with the autopilot, the members that
	// asked to be removed (a leave announcement) and when they last asked.
	leavers map[raft.NodeID]time.Time
	// planNow: consult the autopilot at once (a member asked to leave).
	planNow bool
	reason  string // the autopilot's last reason
	// changed is closed and replaced whenever role, leader or
	// configuration change (Leave waits on it).
	changed chan struct{}
}

func (n *Node) initMembership() {
	now := time.Now()
	m := &n.mem
	*m = membership{started: now, conf: n.core.Members(), role: raft.Follower,
		seen: map[raft.NodeID]*seen{}, removedAt: map[raft.NodeID]time.Time{}, leavers: map[raft.NodeID]time.Time{},
		noLeaderSince: now, changed: make(chan struct{})}
	for _, id := range memberIDs(m.conf) {
		if id != n.id {
			m.seen[id] = &seen{expected: now}
		}
	}
}

// seen is what this member knows of another's liveness.
type seen struct {
	// heard is when a message from it last arrived (zero: never).
	heard time.Time
	// expected is when this member started to expect it to talk: its own
	// start, or the other's arrival in the configuration; a new leader
	// moves it forward to leave every member a grace to show up (see
	// observe).
	expected time.Time
}

// since is how long the member has been silent, counted from when it was
// expected to talk if it has not since.
func (s *seen) since(now time.Time) time.Duration {
	if s.heard.After(s.expected) {
		return now.Sub(s.heard)
	}
	return now.Sub(s.expected)
}

// unheard reports that nothing arrived from it since it was expected.
func (s *seen) unheard() bool { return !s.heard.After(s.expected) }

// memberIDs lists every member of cs, sorted.
func memberIDs(cs raft.ConfState) []raft.NodeID {
	ids := slices.Concat(cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext)
	slices.Sort(ids)
	return slices.Compact(ids)
}

func isVoter(cs raft.ConfState, id raft.NodeID) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.VotersOutgoing, id)
}

// heardFrom records a message from id (members only).
func (n *Node) heardFrom(id raft.NodeID, now time.Time) {
	if s := n.mem.seen[id]; s != nil {
		s.heard = now
	}
}

// leaveRequest reports whether m is a member asking to be removed: the
// proposal Leave makes on a follower, forwarded to the leader. A leader
// with the autopilot takes it as a leave announcement and lets the planner
// remove the member, together with what keeps the voters odd and the
// cluster live (a bare removal could leave, say, two voters of which one
// just died).
func (n *Node) leaveRequest(m *raft.Message) bool {
	if m.Type != raft.MsgProp || len(m.Entries) != 1 || m.Entries[0].Type != raft.EntryConfChange {
		return false
	}
	cc, err := raft.UnmarshalConfChange(m.Entries[0].Data)
	return err == nil && !cc.LeaveJoint && len(cc.Changes) == 1 &&
		cc.Changes[0].Type == raft.RemoveMember && cc.Changes[0].Node == m.From && m.From != n.id
}

// observe follows role, leader and configuration changes a Ready reported
// (after Advance).
func (n *Node) observe(rd *raft.Ready) {
	m := &n.mem
	if rd.SoftState == nil && rd.ConfState == nil {
		return
	}
	now := time.Now()
	if ss := rd.SoftState; ss != nil {
		if ss.Role == raft.Leader && m.role != raft.Leader {
			// A new leader knows little of the others' liveness (followers
			// talk to the leader only), so it gives each member a grace to
			// show up: its silence counts as at most deadWindow minus that
			// grace. Not a whole deadWindow: under leadership that changes
			// faster than that, a dead member would never be removed.
			dead := n.deadWindow()
			floor := now.Add(-(dead - min(n.quietGrace(), dead/2)))
			for _, s := range m.seen {
				if s.expected.Before(floor) {
					s.expected = floor
				}
			}
			// Its no-op must apply before any change (the core's rule).
			m.pendingUntil = n.core.Status().LastIndex
		}
		switch {
		case ss.Lead == raft.None && m.lead != raft.None:
			m.noLeaderSince = now
		case ss.Lead != raft.None:
			m.noLeaderSince = time.Time{}
		}
		m.role, m.lead = ss.Role, ss.Lead
	}
	if rd.ConfState != nil {
		m.conf = *rd.ConfState
		ids := memberIDs(m.conf)
		for id := range m.seen {
			if !slices.Contains(ids, id) {
				delete(m.seen, id)
				m.removedAt[id] = now
			}
		}
		for _, id := range ids {
			if _, ok := m.seen[id]; !ok && id != n.id {
				m.seen[id] = &seen{expected: now} // silence counts from its arrival
				delete(m.removedAt, id)
			}
		}
		n.log.Info("configuration applied", "voters", formatIDs(m.conf.Voters), "learners", formatIDs(m.conf.Learners),
			"joint", m.conf.IsJoint())
	}
	close(m.changed)
	m.changed = make(chan struct{})
}

func formatIDs(ids []raft.NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = FormatID(id)
	}
	return strings.Join(s, ",")
}

// electionTimeout is the core's minimum election timeout in real time.
func (n *Node) electionTimeout() time.Duration {
	ticks := n.cfg.Raft.ElectionTick
	if ticks <= 0 {
		ticks = 15 // the core's default
	}
	return time.Duration(ticks) * n.cfg.TickInterval
}

// quietGrace is how long without a leader, or without news of a voter,
// is worth a note: a few elections.
func (n *Node) quietGrace() time.Duration { return 4 * n.electionTimeout() }

// autopilotInterval is how often the leader consults the planner.
func (n *Node) autopilotInterval() time.Duration {
	return max(min(200*time.Millisecond, n.cfg.Autopilot.DeadTimeout/10), n.cfg.TickInterval)
}

// autopilotTick asks the planner, while this member leads, and proposes
// what it suggests.
func (n *Node) autopilotTick(now time.Time) {
	ap, m := n.cfg.Autopilot, &n.mem
	for id, at := range m.removedAt {
		if now.Sub(at) >= ap.RejoinDelay {
			delete(m.removedAt, id)
		}
	}
	for id, at := range m.leavers {
		if _, member := m.seen[id]; !member && now.Sub(at) >= ap.DeadTimeout {
			delete(m.leavers, id) // gone: it no longer asks
		}
	}
	if m.role != raft.Leader || m.leaving {
		m.reason = ""
		clear(m.leavers)
		return
	}
	st := n.core.Status()
	if st.Role != raft.Leader {
		return
	}
	in := autopilot.Input{Leader: n.id, Conf: m.conf, LastIndex: st.LastIndex,
		ChangePending: n.applied < m.pendingUntil,
		Members:       make(map[raft.NodeID]autopilot.Member, len(m.seen)),
		Removed:       make(map[raft.NodeID]time.Duration, len(m.removedAt))}
	for id, s := range m.seen {
		in.Members[id] = autopilot.Member{Match: st.Progress[id].Match, SinceHeard: s.since(now), Unheard: s.unheard()}
	}
	for id, at := range m.removedAt {
		in.Removed[id] = now.Sub(at)
	}
	for id := range m.leavers {
		in.Leaving = append(in.Leaving, id)
	}
	slices.Sort(in.Leaving)
	if r, ok := n.cfg.Transport.(Roster); ok {
		in.Present = r.Members()
	}
	d := autopilot.Plan(*ap, in)
	if d.Reason != m.reason {
		level := slog.LevelDebug
		if strings.HasPrefix(d.Reason, "no quorum") {
			level = slog.LevelWarn
		}
		n.log.Log(context.Background(), level, "autopilot", "reason", d.Reason)
	}
	m.reason = d.Reason
	if d.Change == nil {
		return
	}
	switch err := n.core.ProposeConfChange(*d.Change); {
	case err == nil:
		m.pendingUntil = st.LastIndex + 1 // where the change was appended
		n.log.Info("autopilot proposes a configuration change", "reason", d.Reason)
	case errors.Is(err, raft.ErrConfChangePending), errors.Is(err, raft.ErrProposalDropped):
		// Ask again at the next tick.
	default:
		n.log.Warn("autopilot: change refused", "reason", d.Reason, "err", err)
	}
}

// Health is the member's view of the cluster's membership, for the live
// cluster view and for operators.
type Health struct {
	Role raft.Role
	Lead raft.NodeID
	// Members is the configuration this member applied last.
	Members raft.ConfState
	// LastHeard gives, for every other member of the configuration, how
	// long ago this member last received a message from it. It means most
	// on the leader, which hears from everyone; a new leader counts from its
	// election.
	LastHeard map[raft.NodeID]time.Duration
	// Autopilot is the planner's last reason (on the leader, with
	// Config.Autopilot; "" otherwise).
	Autopilot string
	// Note explains, in a sentence, why the cluster is stuck or this member
	// is out of it; "" when all looks well.
	Note string
}

// Health returns the member's view of the membership.
func (n *Node) Health(ctx context.Context) (Health, error) {
	var h Health
	err := n.call(ctx, func() { h = n.health(time.Now()) })
	return h, err
}

func (n *Node) health(now time.Time) Health {
	m := &n.mem
	h := Health{Role: m.role, Lead: m.lead, Autopilot: m.reason,
		Members: raft.ConfState{Voters: slices.Clone(m.conf.Voters), Learners: slices.Clone(m.conf.Learners),
			VotersOutgoing: slices.Clone(m.conf.VotersOutgoing), LearnersNext: slices.Clone(m.conf.LearnersNext)},
		LastHeard: make(map[raft.NodeID]time.Duration, len(m.seen))}
	for id, s := range m.seen {
		h.LastHeard[id] = s.since(now)
	}
	h.Note = n.note(now)
	return h
}

// note explains a member that is out of the cluster or a cluster that
// cannot elect a leader.
func (n *Node) note(now time.Time) string {
	m := &n.mem
	cs := m.conf
	grace := n.quietGrace()
	switch {
	case len(memberIDs(cs)) == 0:
		s := fmt.Sprintf("waiting to be added to the cluster by its leader (for %s)", roundDur(now.Sub(m.started)))
		if r, ok := n.cfg.Transport.(Roster); ok && len(r.Members()) == 0 {
			s += "; no other member is present: started again with empty storage, this member founds a new cluster"
		}
		return s
	case !isMember(cs, n.id):
		return "not in the configuration (removed): waiting to be added again"
	case m.role == raft.Leader:
		if strings.HasPrefix(m.reason, "no quorum") {
			return m.reason
		}
		dead := grace
		if n.cfg.Autopilot != nil {
			dead = n.cfg.Autopilot.DeadTimeout
		}
		if silent, least := n.silentVoters(now, dead); len(silent) > 0 {
			return fmt.Sprintf("voters %s silent for %s or more", formatIDs(silent), roundDur(least))
		}
		return ""
	case m.lead != raft.None || m.noLeaderSince.IsZero() || now.Sub(m.noLeaderSince) < grace:
		return ""
	}
	voters := slices.Concat(cs.Voters, cs.VotersOutgoing)
	slices.Sort(voters)
	voters = slices.Compact(voters)
	s := fmt.Sprintf("no leader for %s", roundDur(now.Sub(m.noLeaderSince)))
	silent, least := n.silentVoters(now, grace)
	if len(silent) > 0 {
		s += fmt.Sprintf(": voters %s unreachable for %s or more (a leader needs %d of the %d voters)",
			formatIDs(silent), roundDur(least), len(voters)/2+1, len(voters))
	}
	if !isVoter(cs, n.id) {
		return s + "; a learner cannot campaign"
	}
	if live := len(voters) - len(silent); live <= len(voters)/2 {
		s += ". If they are gone for good, RecoverAlone makes this member a cluster of its own from its copy" +
			" (explicit, never automatic: members of the old cluster must not come back)"
	}
	return s
}

// silentVoters lists the other voters not heard from for at least d, and
// the shortest of their silences.
func (n *Node) silentVoters(now time.Time, d time.Duration) ([]raft.NodeID, time.Duration) {
	var silent []raft.NodeID
	var least time.Duration
	for _, id := range memberIDs(n.mem.conf) {
		s, ok := n.mem.seen[id]
		if !ok || !isVoter(n.mem.conf, id) || s.since(now) < d {
			continue
		}
		if len(silent) == 0 || s.since(now) < least {
			least = s.since(now)
		}
		silent = append(silent, id)
	}
	return silent, least
}

func roundDur(d time.Duration) time.Duration { return d.Round(100 * time.Millisecond) }

// Leave takes this member out of the cluster for good, then stops it. A
// leader first makes sure another voter exists (the only voter promotes
// its most caught-up learner), hands leadership to the most caught-up live
// voter, and then, as a follower, asks the new leader to remove it. Leave
// returns once this member applied a configuration without itself. A member
// that was never added (or already removed) just stops; so does the only
// member of a cluster (its storage keeps the state). The autopilot of a
// leaving member plans nothing.
//
// Leave honours ctx: when it ends first, the member stops all the same and
// Leave says the removal was not confirmed (it may still happen: the
// request may be committed; otherwise the leader's autopilot removes the
// member once it has been silent for its DeadTimeout).
func (n *Node) Leave(ctx context.Context) error {
	defer n.Stop()
	retry := time.NewTicker(max(2*n.electionTimeout(), 10*time.Millisecond))
	defer retry.Stop()
	for {
		var done bool
		var changed <-chan struct{}
		err := n.call(ctx, func() { done, changed = n.leaveStep() })
		switch {
		case errors.Is(err, ErrStopped):
			return err
		case err != nil:
			return fmt.Errorf("peer: leaving: removal not confirmed, member stopped: %w", err)
		case done:
			return nil
		}
		select {
		case <-changed:
		case <-retry.C:
		case <-ctx.Done():
			return fmt.Errorf("peer: leaving: removal not confirmed, member stopped: %w", ctx.Err())
		case <-n.done:
			return ErrStopped
		}
	}
}

// leaveStep takes the next step out of the cluster (on the loop
// goroutine); it reports whether this member is out, and what to wait on.
func (n *Node) leaveStep() (bool, <-chan struct{}) {
	m := &n.mem
	if !m.leaving {
		m.leaving, m.leavingSince = true, time.Now()
		m.reason = ""
		n.log.Info("leaving the cluster")
	}
	cs := m.conf
	if !isMember(cs, n.id) {
		n.log.Info("out of the cluster")
		return true, m.changed
	}
	if m.role != raft.Leader {
		if m.lead != raft.None {
			// Forwarded to the leader. Refused while another change is
			// pending; then asked again.
			err := n.core.ProposeConfChange(raft.ConfChange{Changes: []raft.ConfChangeSingle{{Type: raft.RemoveMember, Node: n.id}}})
			if err != nil {
				n.log.Debug("leaving: removal not proposed", "err", err)
			}
		}
		return false, m.changed
	}
	st := n.core.Status()
	var others []raft.NodeID
	for _, id := range slices.Concat(cs.Voters, cs.VotersOutgoing) {
		if id != n.id && !slices.Contains(others, id) {
			others = append(others, id)
		}
	}
	if len(others) > 0 {
		// The most caught-up voter that answers now; failing that, one not
		// yet given up on; failing that, the core's choice.
		target := n.bestOf(others, st, n.freshWindow(), m.leavingSince)
		if target == raft.None {
			target = n.bestOf(others, st, n.deadWindow(), time.Time{})
		}
		if err := n.core.TransferLeadership(target); err != nil {
			n.log.Debug("leaving: leadership not handed over", "to", FormatID(target), "err", err)
		}
		return false, m.changed
	}
	canChange := n.applied >= m.pendingUntil && !cs.IsJoint()
	// Only a learner that answered since this member decided to leave: one
	// that died a moment before, promoted, would leave two voters of which
	// one is dead — a cluster that can do nothing.
	best := n.bestOf(cs.Learners, st, n.freshWindow(), m.leavingSince)
	if best == raft.None {
		// Nobody answers now to hand over to: take in whoever is present,
		// and wait for someone to answer.
		var present []raft.NodeID
		if r, ok := n.cfg.Transport.(Roster); ok {
			for _, id := range r.Members() {
				if !isMember(cs, id) && id != raft.None {
					present = append(present, id)
				}
			}
		}
		if len(present) == 0 && len(cs.Learners) == 0 {
			n.log.Info("leaving: nobody to hand the cluster over to; the only voter stops")
			return true, m.changed
		}
		if len(present) > 0 && canChange {
			cc := raft.ConfChange{}
			for _, id := range present {
				cc.Changes = append(cc.Changes, raft.ConfChangeSingle{Type: raft.AddLearner, Node: id})
			}
			if err := n.core.ProposeConfChange(cc); err == nil {
				m.pendingUntil = st.LastIndex + 1
				n.log.Info("leaving: adding the members present, to hand the cluster over", "learners", formatIDs(present))
			}
		}
		return false, m.changed
	}
	if canChange {
		cc := raft.ConfChange{Changes: []raft.ConfChangeSingle{{Type: raft.AddVoter, Node: best}}}
		if err := n.core.ProposeConfChange(cc); err == nil {
			m.pendingUntil = st.LastIndex + 1
			n.log.Info("leaving: promoting a learner to hand leadership over", "learner", FormatID(best))
		}
	}
	return false, m.changed
}

// bestOf returns, of ids, the member heard from within the last window,
// since this member leads and after after, with the longest matching log
// (the lowest id on ties); raft.None if none was.
func (n *Node) bestOf(ids []raft.NodeID, st raft.Status, window time.Duration, after time.Time) raft.NodeID {
	now := time.Now()
	best := raft.None
	for _, id := range slices.Sorted(slices.Values(ids)) {
		if s, ok := n.mem.seen[id]; !ok || s.unheard() || s.since(now) >= window || !s.heard.After(after) {
			continue
		}
		if best == raft.None || st.Progress[id].Match > st.Progress[best].Match {
			best = id
		}
	}
	return best
}

// freshWindow is how recently a member must have been heard from to be
// handed the cluster by a leaving leader: a few heartbeats. (A learner that
// died a moment ago, promoted to take over, would leave two voters of
// which one is dead: a cluster that can do nothing.)
func (n *Node) freshWindow() time.Duration {
	hb := n.cfg.Raft.HeartbeatTick
	if hb <= 0 {
		hb = 5 // the core's default
	}
	return 3 * time.Duration(hb) * n.cfg.TickInterval
}

// deadWindow is how long a silent member still counts as live.
func (n *Node) deadWindow() time.Duration {
	if n.cfg.Autopilot != nil {
		return n.cfg.Autopilot.DeadTimeout
	}
	return n.quietGrace()
}
