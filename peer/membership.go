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

// membership is the loop's view of the cluster's membership, kept by an
// autopilot.Tracker (the same bookkeeping the simulator's hosts run): who
// is in the configuration, when each member was last heard from, who asked
// to leave, the steps of this member's own leave. Owned by the loop
// goroutine.
type membership struct {
	// started is when the member started: the origin of the tracker's times.
	started time.Time
	t       *autopilot.Tracker
	// planNow: consult the autopilot at once (a member asked to leave).
	planNow bool
	// foreignSeen is how many messages of another cluster the core had
	// refused when Health last looked, and foreignAt when that count last
	// grew.
	foreignSeen uint64
	foreignAt   time.Time
	// changed is closed and replaced whenever role, leader or
	// configuration change (Leave waits on it).
	changed chan struct{}
}

func (n *Node) initMembership() {
	m := &n.mem
	*m = membership{started: time.Now(), changed: make(chan struct{})}
	m.t = autopilot.NewTracker(autopilot.TrackerConfig{Self: n.id, Policy: n.cfg.Autopilot,
		Tick: n.cfg.TickInterval, ElectionTick: n.cfg.Raft.ElectionTick, HeartbeatTick: n.cfg.Raft.HeartbeatTick,
		Present: n.present}, n.core.Members(), 0)
}

// at is t as the tracker counts time: since the member started.
func (m *membership) at(t time.Time) time.Duration { return t.Sub(m.started) }

// present lists the members the transport's roster holds (none without a
// Roster).
func (n *Node) present() []raft.NodeID {
	if r, ok := n.cfg.Transport.(Roster); ok {
		return r.Members()
	}
	return nil
}

// observe follows role, leader and configuration changes a Ready reported
// (after Advance).
func (n *Node) observe(rd *raft.Ready) {
	m := &n.mem
	if !m.t.Observe(m.at(time.Now()), rd.SoftState, rd.ConfState, n.core) {
		return
	}
	if rd.ConfState != nil {
		cs := m.t.Conf()
		n.log.Info("configuration applied", "voters", formatIDs(cs.Voters), "learners", formatIDs(cs.Learners),
			"joint", cs.IsJoint())
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
func (n *Node) electionTimeout() time.Duration { return n.mem.t.Config().ElectionTimeout() }

// autopilotInterval is how often the leader consults the planner.
func (n *Node) autopilotInterval() time.Duration {
	return n.cfg.Autopilot.PlanInterval(n.cfg.TickInterval)
}

// autopilotTick asks the planner, while this member leads, and proposes
// what it suggests.
func (n *Node) autopilotTick(now time.Time) {
	m := &n.mem
	r := m.t.Tick(m.at(now), n.core, n.applied)
	if !r.Asked {
		return
	}
	d := r.Decision
	if r.NewReason {
		level := slog.LevelDebug
		if strings.HasPrefix(d.Reason, "no quorum") {
			level = slog.LevelWarn
		}
		n.log.Log(context.Background(), level, "autopilot", "reason", d.Reason)
	}
	switch {
	case r.Proposed:
		n.log.Info("autopilot proposes a configuration change", "reason", d.Reason)
	case r.Err != nil:
		n.log.Warn("autopilot: change refused", "reason", d.Reason, "err", r.Err)
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
	// Cluster is this member's cluster id (0: not known yet; see
	// raft.Message.Cluster).
	Cluster uint64
}

// foreignRecent is how long Health's Note keeps reporting messages of
// another cluster after the last one was refused.
const foreignRecent = 30 * time.Second

// Health returns the member's view of the membership.
func (n *Node) Health(ctx context.Context) (Health, error) {
	var h Health
	err := n.call(ctx, func() { h = n.health(time.Now()) })
	return h, err
}

func (n *Node) health(now time.Time) Health {
	t := n.mem.t
	cs := t.Conf()
	h := Health{Role: t.Role(), Lead: t.Lead(), Autopilot: t.Reason(),
		Members: raft.ConfState{Voters: slices.Clone(cs.Voters), Learners: slices.Clone(cs.Learners),
			VotersOutgoing: slices.Clone(cs.VotersOutgoing), LearnersNext: slices.Clone(cs.LearnersNext)},
		LastHeard: t.Silences(n.mem.at(now)), Note: n.note(now), Cluster: n.core.Cluster()}
	if f := n.foreignNote(now); f != "" {
		if h.Note != "" {
			h.Note += "; "
		}
		h.Note += f
	}
	return h
}

// foreignNote reports messages of another cluster refused lately: two
// clusters share the room (see FoundingVoters).
func (n *Node) foreignNote(now time.Time) string {
	m := &n.mem
	st := n.core.Status()
	if st.ForeignDropped > m.foreignSeen {
		m.foreignSeen, m.foreignAt = st.ForeignDropped, now
	}
	if m.foreignSeen == 0 || now.Sub(m.foreignAt) > foreignRecent {
		return ""
	}
	return fmt.Sprintf("messages from another cluster (id %d) ignored (%d so far): two clusters share the room, this one is %d",
		st.ForeignCluster, st.ForeignDropped, st.Cluster)
}

// note explains a member that is out of the cluster or a cluster that
// cannot elect a leader.
func (n *Node) note(now time.Time) string {
	m := &n.mem
	t, at := m.t, m.at(now)
	cs := t.Conf()
	grace := t.Config().Grace()
	leaderless, noLeader := t.LeaderlessFor(at)
	switch {
	case len(autopilot.MemberIDs(cs)) == 0:
		s := fmt.Sprintf("waiting to be added to the cluster by its leader (for %s)", roundDur(now.Sub(m.started)))
		if r, ok := n.cfg.Transport.(Roster); ok && len(r.Members()) == 0 {
			s += "; no other member is present: started again with empty storage, this member founds a new cluster"
		}
		return s
	case !isMember(cs, n.id):
		return "not in the configuration (removed): waiting to be added again"
	case t.Role() == raft.Leader:
		if strings.HasPrefix(t.Reason(), "no quorum") {
			return t.Reason()
		}
		if silent, least := t.SilentVoters(at, t.Config().DeadTimeout()); len(silent) > 0 {
			return fmt.Sprintf("voters %s silent for %s or more", formatIDs(silent), roundDur(least))
		}
		return ""
	case t.Lead() != raft.None || !noLeader || leaderless < grace:
		return ""
	}
	voters := slices.Concat(cs.Voters, cs.VotersOutgoing)
	slices.Sort(voters)
	voters = slices.Compact(voters)
	s := fmt.Sprintf("no leader for %s", roundDur(leaderless))
	silent, least := t.SilentVoters(at, grace)
	if len(silent) > 0 {
		s += fmt.Sprintf(": voters %s unreachable for %s or more (a leader needs %d of the %d voters)",
			formatIDs(silent), roundDur(least), len(voters)/2+1, len(voters))
	}
	if !autopilot.IsVoter(cs, n.id) {
		return s + "; a learner cannot campaign"
	}
	if live := len(voters) - len(silent); live <= len(voters)/2 {
		s += ". If they are gone for good, RecoverAlone makes this member a cluster of its own from its copy" +
			" (explicit, never automatic: members of the old cluster must not come back)"
	}
	return s
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
// goroutine, see autopilot.Tracker.LeaveStep); it reports whether this
// member is out, and what to wait on.
func (n *Node) leaveStep() (bool, <-chan struct{}) {
	m := &n.mem
	r := m.t.LeaveStep(m.at(time.Now()), n.core, n.applied)
	if r.First {
		n.log.Info("leaving the cluster")
	}
	switch {
	case r.Action == autopilot.LeaveOut:
		n.log.Info("out of the cluster")
	case r.Action == autopilot.LeaveAlone:
		n.log.Info("leaving: nobody to hand the cluster over to; the only voter stops")
	case r.Err != nil:
		n.log.Debug("leaving: step refused, taken again later", "step", r.Action.String(), "target", FormatID(r.Target), "err", r.Err)
	case r.Action == autopilot.LeaveAddPresent:
		var present []raft.NodeID
		for _, c := range r.Change.Changes {
			present = append(present, c.Node)
		}
		n.log.Info("leaving: adding the members present, to hand the cluster over", "learners", formatIDs(present))
	case r.Action == autopilot.LeavePromote:
		n.log.Info("leaving: promoting a learner to hand leadership over", "learner", FormatID(r.Target))
	}
	return r.Out(), m.changed
}
