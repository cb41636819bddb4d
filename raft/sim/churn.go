package sim

import (
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/raft"
)

// ChurnConfig describes churn: members that arrive, leave, crash and come
// back while the cluster runs, as browser tabs do. The first member founds
// a cluster of one; every configuration change after that is decided by
// the membership planner (peer/autopilot) on whoever leads, from what that
// host saw: which members are present (running), when it last heard from
// each, who asked to leave. Zero fields are drawn per seed.
type ChurnConfig struct {
	// MaxPresent bounds the population: the members present (running and
	// not leaving) plus those down that will come back. Drawn in [3, 9].
	MaxPresent int
	// Interval is the mean time between two churn events (an arrival, a
	// graceful leave, a crash). Drawn from 2, 3 and 5 s.
	Interval time.Duration
	// TargetVoters (3 or 5), DeadTimeout (2, 3 or 5 s) and CatchUpLag (20
	// or 1,000 entries) configure the planner.
	TargetVoters int
	DeadTimeout  time.Duration
	CatchUpLag   uint64
	// LeaveTimeout bounds a graceful leave: a member that has not applied
	// its own removal by then stops all the same (peer.Node.Leave's
	// context). Default DeadTimeout.
	LeaveTimeout time.Duration
}

func (c *ChurnConfig) validate() error {
	var errs []error
	if c.MaxPresent < 0 || c.MaxPresent > 16 {
		errs = append(errs, fmt.Errorf("churn: max present must be in [1, 16] (0 draws it), not %d", c.MaxPresent))
	}
	if c.Interval < 0 || c.DeadTimeout < 0 || c.LeaveTimeout < 0 {
		errs = append(errs, errors.New("churn: times must not be negative"))
	}
	if t := c.TargetVoters; t != 0 && (t < 1 || t%2 == 0) {
		errs = append(errs, fmt.Errorf("churn: target voters must be odd, not %d", t))
	}
	if c.DeadTimeout > 0 && c.DeadTimeout < 500*time.Millisecond {
		// peer.Node asks for ten heartbeats: a member is promoted only if
		// heard from within DeadTimeout/5.
		errs = append(errs, fmt.Errorf("churn: dead timeout %v is under 500ms", c.DeadTimeout))
	}
	return errors.Join(errs...)
}

// DefaultChurnConfig returns the churn run `make test` runs, for seed: the
// faults of DefaultConfig, less often (crashes and restarts become churn's),
// a minute of churn, and time to settle after it (the planner must remove
// the members gone for good, and add back those present).
func DefaultChurnConfig(seed uint64) Config {
	cfg := DefaultConfig(seed)
	cfg.Members = 1
	cfg.Membership = false
	cfg.Duration = 60 * time.Second
	cfg.LivenessBound = 30 * time.Second
	cfg.FaultInterval = 3 * time.Second
	cfg.Churn = &ChurnConfig{}
	return cfg
}

// maxIDs bounds the members of a run (configurations are bit sets).
const maxIDs = 64

// churnState is a churn run's settings, drawn per seed, and the
// configuration changes in flight.
type churnState struct {
	cfg       ChurnConfig
	ap        autopilot.Config
	planEvery time.Duration
	// inFlight are the configurations proposed (by planners, or leaving
	// leaders) at log indexes beyond the newest configuration in force:
	// they may yet come into force.
	inFlight []proposedConf
}

// proposedConf is a configuration a change appended at index would make.
type proposedConf struct {
	conf  confMask
	index uint64
}

// afterChange is the configuration cc makes of cs, as the core applies
// it: one voter changed at once, or a joint configuration with cs's
// voters as the outgoing half.
func afterChange(cs raft.ConfState, cc raft.ConfChange) confMask {
	old := maskOf(cs.Voters)
	in, learners := old, maskOf(cs.Learners)
	for _, c := range cc.Changes {
		if c.Node < 1 || c.Node > maxIDs {
			continue
		}
		b := uint64(1) << (c.Node - 1)
		switch c.Type {
		case raft.AddVoter:
			in, learners = in|b, learners&^b
		case raft.AddLearner:
			in, learners = in&^b, learners|b
		case raft.RemoveMember:
			in, learners = in&^b, learners&^b
		}
	}
	next := confMask{in: in, learners: learners}
	if bits.OnesCount64(in^old) > 1 {
		next.out = old
	}
	return next
}

// proposedChange records a change member m's core accepted, appended at
// index, made of the configuration cs.
func (s *Simulation) proposedChange(cs raft.ConfState, cc raft.ConfChange, index uint64) {
	s.churn.inFlight = append(s.churn.inFlight, proposedConf{conf: afterChange(cs, cc), index: index})
}

// newChurn resolves cfg, drawing what is left to the seed.
func (s *Simulation) newChurn(cfg ChurnConfig) *churnState {
	if cfg.MaxPresent == 0 {
		cfg.MaxPresent = 3 + s.rng.IntN(7)
	}
	if cfg.Interval == 0 {
		cfg.Interval = []time.Duration{2 * time.Second, 3 * time.Second, 5 * time.Second}[s.rng.IntN(3)]
	}
	if cfg.TargetVoters == 0 {
		cfg.TargetVoters = 3 + 2*s.rng.IntN(2)
	}
	if cfg.DeadTimeout == 0 {
		cfg.DeadTimeout = []time.Duration{2 * time.Second, 3 * time.Second, 5 * time.Second}[s.rng.IntN(3)]
	}
	if cfg.CatchUpLag == 0 {
		cfg.CatchUpLag = []uint64{20, 1000}[s.rng.IntN(2)]
	}
	if cfg.LeaveTimeout == 0 {
		cfg.LeaveTimeout = cfg.DeadTimeout
	}
	ap := autopilot.Config{TargetVoters: cfg.TargetVoters, DeadTimeout: cfg.DeadTimeout, CatchUpLag: cfg.CatchUpLag}.WithDefaults()
	s.check.maxVoters = cfg.TargetVoters
	return &churnState{cfg: cfg, ap: ap, planEvery: ap.PlanInterval(s.cfg.Tick)} // peer.Node's interval
}

// Churn events (evChurn's sub).
const (
	churnWake   uint8 = iota // the next arrival, leave or crash
	churnReturn              // member who comes back
	leaveWake                // member who takes its next step out
	leaveGiveUp              // member who's leave times out
	churnThaw                // member who, frozen by the nemesis, thaws
)

// ChurnStats counts what churn did in a run.
type ChurnStats struct {
	// Arrivals are members that showed up with a new id and empty storage.
	Arrivals int
	// Leaves are graceful leaves begun; LeavesDone ended with the member
	// applying its own removal, LeavesTimedOut with the member stopping
	// after LeaveTimeout without having seen it. LeavesHeld counts the
	// timeouts postponed because stopping then would have lost a quorum
	// for good (see mayLoseForGood).
	Leaves, LeavesDone, LeavesTimedOut, LeavesHeld int
	// Crashes are silent stops; CrashesForGood never came back.
	Crashes, CrashesForGood int
	// ReturnsWithin and ReturnsAfter are members of the configuration
	// that came back with their state within or after the planner's
	// DeadTimeout; KeptPlace of the former found themselves still in the
	// configuration, LostAcrossElection did not, a new leader having been
	// elected meanwhile (a new leader counts a silence from before its
	// election as most of the dead timeout: peer.Node's grace).
	// ReturnsUnadded came back before they were ever added.
	ReturnsWithin, ReturnsAfter, KeptPlace, LostAcrossElection, ReturnsUnadded int
	// Readded counts members added back after a removal.
	Readded int
	// PlannerChanges counts the planner's changes the core accepted.
	PlannerChanges int
	// MaxPresent is the most members present at once.
	MaxPresent int
}

func (c *ChurnStats) add(o ChurnStats) {
	c.Arrivals += o.Arrivals
	c.Leaves += o.Leaves
	c.LeavesDone += o.LeavesDone
	c.LeavesTimedOut += o.LeavesTimedOut
	c.LeavesHeld += o.LeavesHeld
	c.Crashes += o.Crashes
	c.CrashesForGood += o.CrashesForGood
	c.ReturnsWithin += o.ReturnsWithin
	c.ReturnsAfter += o.ReturnsAfter
	c.KeptPlace += o.KeptPlace
	c.LostAcrossElection += o.LostAcrossElection
	c.ReturnsUnadded += o.ReturnsUnadded
	c.Readded += o.Readded
	c.PlannerChanges += o.PlannerChanges
	c.MaxPresent = max(c.MaxPresent, o.MaxPresent)
}

func (c *ChurnStats) String() string {
	return fmt.Sprintf("%d arrivals, %d leaves (%d saw their removal, %d timed out, %d held on), %d crashes (members back within the dead timeout %d, %d of them kept their place, %d lost it across a new leader's election; back after it %d; gone for good %d; back before being added %d), %d re-added, %d planner changes, at most %d present",
		c.Arrivals, c.Leaves, c.LeavesDone, c.LeavesTimedOut, c.LeavesHeld, c.Crashes, c.ReturnsWithin, c.KeptPlace, c.LostAcrossElection, c.ReturnsAfter,
		c.CrashesForGood, c.ReturnsUnadded, c.Readded, c.PlannerChanges, c.MaxPresent)
}

// startChurn schedules the first arrivals and churn events.
func (s *Simulation) startChurn() {
	// The first members arrive within a second.
	n := 1 + s.rng.IntN(s.churn.cfg.MaxPresent)
	for range n - 1 {
		s.schedule(event{at: 1 + durN(s.rng, time.Second), kind: evChurn, sub: churnWake, aux: 1})
	}
	s.schedule(event{at: time.Second + durN(s.rng, 2*s.churn.cfg.Interval), kind: evChurn, sub: churnWake})
	s.notePresent()
}

// churnEvent dispatches an evChurn.
func (s *Simulation) churnEvent(e *event) {
	switch e.sub {
	case churnWake:
		if e.aux == 1 {
			if !s.healed && s.population() < s.churn.cfg.MaxPresent && len(s.members) < maxIDs {
				s.arrive()
			}
			return
		}
		s.churnWake()
	case churnReturn:
		if m := s.members[e.who]; !m.up && !m.retired && m.epoch == e.epoch {
			s.comeBack(m)
		}
	case leaveWake:
		if m := s.members[e.who]; m.up && m.leaving && m.epoch == e.epoch {
			s.schedule(event{at: s.now + 2*s.electionTimeout(), kind: evChurn, sub: leaveWake, who: m.idx, epoch: m.epoch})
			s.queueLeave(m)
			s.pump(m)
		}
	case churnThaw:
		if m := s.members[e.who]; m.up && m.paused && m.epoch == e.epoch && !s.healed {
			s.applyFault(Fault{Kind: FaultResume, Member: m.id})
		}
	case leaveGiveUp:
		if m := s.members[e.who]; m.leaving && !m.retired && m.leaveID == e.epoch {
			if !s.mayLoseForGood(m) {
				// Stopping now would leave a configuration in use without
				// a quorum for good: the user keeps the tab a while longer.
				s.stats.Churn.LeavesHeld++
				s.schedule(event{at: s.now + s.churn.cfg.LeaveTimeout, kind: evChurn, sub: leaveGiveUp, who: m.idx, epoch: m.leaveID})
				return
			}
			s.stats.Churn.LeavesTimedOut++
			s.nar.say(s.now, "%s gives up waiting for its removal and stops", nodeName(m.id))
			s.stop(m)
		}
	}
}

// population counts the members present (running, not leaving) and those
// down that will come back.
func (s *Simulation) population() int {
	n := 0
	for _, m := range s.members {
		if !m.retired && !m.leaving {
			n++
		}
	}
	return n
}

// presentIdx lists the members present: running and not leaving.
func (s *Simulation) presentIdx() []int {
	var out []int
	for _, m := range s.members {
		if m.up && !m.retired && !m.leaving {
			out = append(out, m.idx)
		}
	}
	return out
}

func (s *Simulation) notePresent() {
	s.stats.Churn.MaxPresent = max(s.stats.Churn.MaxPresent, len(s.presentIdx()))
}

// churnWake is the next churn event, chosen by what is possible now.
func (s *Simulation) churnWake() {
	if s.healed {
		return
	}
	if next := s.now + 1 + durN(s.rng, 2*s.churn.cfg.Interval); next < s.cfg.Duration {
		s.schedule(event{at: next, kind: evChurn, sub: churnWake})
	}
	present := s.presentIdx()
	const (
		arrive = iota
		leave
		crash
	)
	var w [3]int
	if s.population() < s.churn.cfg.MaxPresent && len(s.members) < maxIDs {
		w[arrive] = 3
	}
	if len(present) > 1 {
		w[leave], w[crash] = 1, 2
	}
	r := s.rng.IntN(max(1, w[0]+w[1]+w[2]))
	switch {
	case w[0]+w[1]+w[2] == 0:
	case r < w[arrive]:
		s.arrive()
	case r < w[arrive]+w[leave]:
		// A member of the cluster (one never added just stops).
		latest := s.check.conf.latest()
		var in []int
		for _, x := range present {
			if (latest.voters()|latest.learners)&(1<<x) != 0 {
				in = append(in, x)
			}
		}
		if len(in) == 0 {
			return
		}
		if m := s.members[s.target(in, 3)]; s.mayLoseForGood(m) {
			s.beginLeave(m)
		}
	default:
		s.churnCrash(s.members[s.target(present, 3)])
	}
}

// arrive starts a member with a new id and empty storage: another member
// is present, so it waits to be added (peer.FoundingVoters).
func (s *Simulation) arrive() {
	s.stats.Churn.Arrivals++
	s.addMember()
	s.notePresent()
}

// mayLoseForGood reports whether member m may go for good: the members
// not gone for good (those down that will come back included) would still
// hold, without m, a quorum of the newest configuration, of every
// configuration a member still applies with m as a voter, and of every
// configuration proposed that may yet come into force. A majority of
// the voters of a configuration in use lost for good stops any Raft
// cluster (a member still in a joint configuration whose outgoing half is
// gone cannot win an election, even if the joint configuration was left in
// a log it has not learned is committed); recovering from that is
// explicit, never automatic, so churn does not do it.
func (s *Simulation) mayLoseForGood(m *member) bool {
	var alive uint64
	for _, o := range s.members {
		if !o.retired && !o.leaving && o != m {
			alive |= 1 << o.idx
		}
	}
	latest, at := s.check.conf.latestAt()
	if !latest.quorum(alive) {
		return false
	}
	flying := s.churn.inFlight[:0]
	for _, p := range s.churn.inFlight {
		if p.index <= at {
			continue // in force, or overwritten by what is
		}
		flying = append(flying, p)
		if p.conf.voters()&(1<<m.idx) != 0 && !p.conf.quorum(alive) {
			return false
		}
	}
	s.churn.inFlight = flying
	for _, o := range s.members {
		if c := s.check.members[o.idx].conf; o != m && !o.retired && c.voters()&(1<<m.idx) != 0 && !c.quorum(alive) {
			return false
		}
	}
	return true
}

// churnCrash stops member m silently. It comes back with its state within
// the planner's DeadTimeout (and should keep its place), after it (removed
// meanwhile, then added again), or never.
func (s *Simulation) churnCrash(m *member) {
	dead := s.churn.cfg.DeadTimeout
	var down time.Duration
	fate := "comes back within the dead timeout"
	switch r := s.rng.IntN(10); {
	case r < 2 && s.mayLoseForGood(m):
		s.stats.Churn.CrashesForGood++
		fate = "is gone for good"
	case r < 6:
		down = 100*time.Millisecond + durN(s.rng, dead/2)
	default:
		down = dead + dead/5 + durN(s.rng, dead)
		fate = "comes back after the dead timeout"
	}
	s.stats.Churn.Crashes++
	s.nar.say(s.now, "%s crashes silently and %s", nodeName(m.id), fate)
	s.trace.mix(uint64(m.idx), uint64(down))
	if down == 0 {
		m.retired = true
	}
	latest := s.check.conf.latest()
	m.wasMember = (latest.voters()|latest.learners)&(1<<m.idx) != 0
	m.electionsAtCrash = s.stats.Elections
	s.crash(m)
	m.downAt, m.churnDown = s.now, down > 0
	if down > 0 {
		s.schedule(event{at: s.now + down, kind: evChurn, sub: churnReturn, who: m.idx, epoch: m.epoch})
	}
}

// comeBack restarts member m from its storage after a churn crash.
func (s *Simulation) comeBack(m *member) {
	m.churnDown = false
	away := s.now - m.downAt
	in := s.check.conf.latest()
	kept := (in.voters()|in.learners)&(1<<m.idx) != 0
	switch {
	case !m.wasMember:
		s.stats.Churn.ReturnsUnadded++
	case away < s.churn.cfg.DeadTimeout:
		s.stats.Churn.ReturnsWithin++
		switch {
		case kept:
			s.stats.Churn.KeptPlace++
		case s.stats.Elections > m.electionsAtCrash:
			s.stats.Churn.LostAcrossElection++
		}
	default:
		s.stats.Churn.ReturnsAfter++
	}
	where := "still in the configuration"
	if !kept {
		where = "no longer in the configuration"
	}
	s.nar.say(s.now, "%s comes back after %s with its state, %s", nodeName(m.id), away.Round(time.Millisecond), where)
	s.startMember(m)
	s.pump(m)
	s.notePresent()
}

// beginLeave has member m leave the cluster gracefully.
func (s *Simulation) beginLeave(m *member) {
	s.stats.Churn.Leaves++
	m.leaving = true
	m.leaveID++
	s.nar.say(s.now, "%s leaves gracefully", nodeName(m.id))
	s.schedule(event{at: s.now + s.churn.cfg.LeaveTimeout, kind: evChurn, sub: leaveGiveUp, who: m.idx, epoch: m.leaveID})
	s.schedule(event{at: s.now + 2*s.electionTimeout(), kind: evChurn, sub: leaveWake, who: m.idx, epoch: m.epoch})
	s.queueLeave(m)
	s.pump(m)
}

// leaveDone is member m out of the configuration: it stops for good.
func (s *Simulation) leaveDone(m *member) {
	s.stats.Churn.LeavesDone++
	s.nar.say(s.now, "%s applied its removal and stops", nodeName(m.id))
	s.stop(m)
}

// stop shuts member m down for good.
func (s *Simulation) stop(m *member) {
	m.retired = true
	if m.up {
		s.crash(m)
	}
}

// churnUnsettled adds what churn still waits for once faults heal: every
// member present in the configuration, nobody else, and as many voters as
// the planner aims for.
func (s *Simulation) churnUnsettled(latest confMask) []string {
	var missing []string
	in := latest.voters() | latest.learners
	var want uint64
	for _, m := range s.members {
		if m.up && !m.leaving {
			want |= 1 << m.idx
		}
	}
	if in != want {
		missing = append(missing, fmt.Sprintf("the configuration holds %s, the members present are %s", fmtSet(in), fmtSet(want)))
		return missing
	}
	voters := min(s.churn.cfg.TargetVoters, bits.OnesCount64(in))
	if voters%2 == 0 {
		voters--
	}
	if n := bits.OnesCount64(latest.voters()); n != voters {
		missing = append(missing, fmt.Sprintf("%d voters, the planner aims for %d", n, voters))
	}
	return missing
}

// countReadded counts the members cs adds back after a removal (called
// before wasIn is updated).
func (s *Simulation) countReadded(prev, cs confMask) {
	now := cs.voters() | cs.learners
	was := prev.voters() | prev.learners
	for _, m := range s.members {
		if b := uint64(1) << m.idx; now&b != 0 && was&b == 0 && m.wasIn {
			s.stats.Churn.Readded++
		}
	}
}
