package sim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"time"

	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/raft"
)

// Simulation is one run: members, clients, network and nemesis in virtual
// time, all driven by one random source seeded from Config.Seed.
type Simulation struct {
	cfg    Config
	rng    *rand.Rand
	now    time.Duration
	queue  eventQueue
	voters []raft.NodeID

	members []*member
	clients []*client
	net     *network
	check   *checker
	hist    history
	nar     narrator
	trace   trace
	stats   Stats

	// view is each member's role, term and leader as last seen in a Ready.
	view []memberState
	// maxCommit is the highest commit index any member reported.
	maxCommit uint64
	// healed: the fault phase is over.
	healed   bool
	healedAt time.Duration
	settled  bool
	// For availability: the commit index at the last sample.
	sampledCommit uint64
	// For narration: votes received per (candidate, term), the latest
	// command applied anywhere and the highest index applied anywhere.
	votes      map[logPos][]raft.NodeID
	lastCmd    string
	maxApplied uint64

	// retryCC is a configuration change the leader refused, to retry.
	retryCC raft.ConfChange
	// retrying: a retry of a configuration change is scheduled.
	retrying bool

	// churn is set in churn runs (Config.Churn).
	churn *churnState
	// demand: a client operation was outstanding during the current
	// sampling window; stall is how long the commit index has not moved
	// while operations were outstanding.
	demand bool
	stall  time.Duration
	// ledger holds the writes state machines executed, for the check that
	// no acknowledged write is lost.
	ledger ledger

	delayBuf [2]time.Duration
	// bugs are deliberate host mistakes, set only by tests that prove the
	// checks catch them.
	bugs hostBugs
	// planWrap, when set by a test, replaces the membership planner.
	planWrap func(autopilot.Config, autopilot.Input) autopilot.Decision
}

// hostBugs are ways a host can break the Ready contract.
type hostBugs struct {
	// sendBeforePersist sends a Ready's messages when it is taken, before
	// its write completes.
	sendBeforePersist bool
	// forgetHardState never persists hard states.
	forgetHardState bool
	// localReads answers gets from the asked member's state machine at
	// once, without going through the log.
	localReads bool
	// readBeforeApply serves a ReadIndex read as soon as its ReadState
	// arrives, before the state machine reached its index.
	readBeforeApply bool
	// ackOnPropose answers a write as soon as the asked member's core
	// accepts its proposal (a follower forwards it), before it commits.
	ackOnPropose bool
}

// sampleEvery is the bookkeeping period (availability windows, liveness
// checks in the heal phase).
const sampleEvery = 100 * time.Millisecond

// New prepares a run of cfg.
func New(cfg Config) (*Simulation, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Simulation{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed7ab7af7)),
		net:   newNetwork(cfg.Net, cfg.Members),
		trace: newTrace(),
		view:  make([]memberState, cfg.Members),
		votes: map[logPos][]raft.NodeID{},
	}
	s.check = newChecker(cfg.Members, &s.now)
	s.check.progress = func(m int) raft.Status { return s.members[m].node.Status() }
	s.check.onConf = s.confChanged
	if s.cfg.MaxSizePerMsg == 0 {
		s.cfg.MaxSizePerMsg = []uint64{64, 256, 1 << 10, 64 << 10}[s.rng.IntN(4)]
	}
	if s.cfg.MaxInflightMsgs == 0 {
		s.cfg.MaxInflightMsgs = []int{1, 4, 16, 256}[s.rng.IntN(4)]
	}
	if s.cfg.SnapshotEntries == 0 {
		s.cfg.SnapshotEntries = []uint64{16, 64, 256}[s.rng.IntN(3)]
	}
	if s.cfg.CompactionKeep == 0 {
		s.cfg.CompactionKeep = []uint64{1, 8, 64}[s.rng.IntN(3)]
	}
	if s.cfg.SnapshotChunk == 0 {
		s.cfg.SnapshotChunk = []uint64{64, 512, 16<<10 - 512}[s.rng.IntN(3)]
	}
	if cfg.Churn != nil {
		s.churn = s.newChurn(*cfg.Churn)
		ch := s.churn.cfg
		s.cfg.Churn = &ch
	}
	for i := range cfg.Members {
		s.voters = append(s.voters, id(i))
		s.members = append(s.members, &member{idx: i, id: id(i), store: raft.NewMemoryStorage()})
	}
	for i := range cfg.Clients {
		s.clients = append(s.clients, &client{idx: i, at: i % cfg.Members})
	}
	return s, nil
}

// Narrate makes the run tell what happens on w.
func (s *Simulation) Narrate(w io.Writer) { s.nar.w = w }

func (s *Simulation) schedule(e event) { s.queue.push(e) }

// Run runs the simulation to its end and reports what happened. A panic,
// in the core or in the simulator, ends the run as a violation.
func (s *Simulation) Run() (r Result) {
	defer func() {
		if p := recover(); p != nil {
			s.check.fail(Panic, "%v\n%s", p, debug.Stack())
			r = s.result()
		}
	}()
	if s.nar.on() {
		faults := "random faults every ~" + s.cfg.FaultInterval.String()
		switch {
		case s.cfg.Schedule != nil:
			faults = fmt.Sprintf("%d scheduled faults", len(s.cfg.Schedule))
		case !s.cfg.Faults:
			faults = "no faults beyond the network's own"
		}
		s.nar.say(0, "seed %d: %d members, %d clients on %d keys, %s; network drops %.0f%%, duplicates %.0f%%, delays %s–%s (%.0f%% up to %s); faults heal at %s",
			s.cfg.Seed, s.cfg.Members, s.cfg.Clients, s.cfg.Keys, faults, 100*s.cfg.Net.Drop, 100*s.cfg.Net.Duplicate,
			s.cfg.Net.MinLatency, s.cfg.Net.MaxLatency, 100*s.cfg.Net.Slow, s.cfg.Net.SlowDelay, s.cfg.Duration)
		snaps := "no snapshots"
		if s.cfg.Snapshots {
			snaps = fmt.Sprintf("a snapshot every %d entries (keeping %d, sent in %d-byte chunks)",
				s.cfg.SnapshotEntries, s.cfg.CompactionKeep, s.cfg.SnapshotChunk)
		}
		s.nar.say(0, "cores: at most %d bytes of entries per append, a window of %d appends in flight, %s",
			s.cfg.MaxSizePerMsg, s.cfg.MaxInflightMsgs, snaps)
	}
	for _, m := range s.members {
		s.startMember(m)
		s.pump(m)
	}
	for _, c := range s.clients {
		c.token++
		s.schedule(event{at: 1 + durN(s.rng, s.cfg.ThinkTime+1), kind: evClient, sub: wakeStart, who: c.idx, epoch: c.token})
	}
	if s.cfg.Schedule != nil {
		for i, f := range s.cfg.Schedule {
			s.schedule(event{at: f.At, kind: evFault, aux: i})
		}
	} else if s.cfg.Faults {
		s.schedule(event{at: 1 + durN(s.rng, 2*s.cfg.FaultInterval), kind: evFault, aux: -1})
	}
	if s.cfg.Membership && s.cfg.Schedule == nil && s.churn == nil {
		s.schedule(event{at: 1 + durN(s.rng, 2*membershipInterval), kind: evMembership})
	}
	if s.churn != nil {
		s.startChurn()
	}
	s.schedule(event{at: s.cfg.Duration, kind: evHeal})
	s.schedule(event{at: sampleEvery, kind: evSample})
	end := s.cfg.Duration + s.cfg.LivenessBound
	for s.queue.len() > 0 && !s.settled && len(s.check.violations) == 0 {
		e := s.queue.pop()
		if e.at > end {
			break
		}
		s.now = e.at
		s.trace.event(&e)
		s.dispatch(&e)
	}
	if !s.settled && len(s.check.violations) == 0 {
		s.check.fail(Liveness, "%s", s.unsettled())
	}
	return s.finish()
}

func (s *Simulation) dispatch(e *event) {
	switch e.kind {
	case evTick:
		if m := s.members[e.who]; m.up && m.epoch == e.epoch {
			s.tick(m)
		}
	case evDeliver:
		from := int(e.msg.From) - 1
		if !s.net.up(from, e.who) {
			s.stats.Dropped++ // the link was cut while the message was in flight
			return
		}
		if s.nar.on() && e.msg.Type == raft.MsgVoteResp && !e.msg.Reject {
			k := logPos{uint64(e.msg.To), e.msg.Term}
			s.votes[k] = append(s.votes[k], e.msg.From)
		}
		s.deliver(s.members[e.who], e.msg)
	case evPersisted:
		if m := s.members[e.who]; m.up && m.epoch == e.epoch {
			s.persistedEvent(m)
		}
	case evClient:
		s.clientWake(s.clients[e.who], e.sub, e.epoch)
	case evFault:
		switch {
		case e.aux == strikeReboot:
			s.strike(s.members[e.who], e.epoch)
		case e.aux < 0:
			s.nemesisWake()
		case !s.healed:
			s.applyFault(s.cfg.Schedule[e.aux])
		}
	case evHeal:
		s.heal()
	case evSample:
		s.sample()
	case evMembership:
		s.membershipWake(e.sub == 1)
	case evRestart:
		if m := s.members[e.who]; !m.up && !m.retired && m.epoch == e.epoch {
			s.startMember(m)
			s.pump(m)
		}
	case evAutopilot:
		if m := s.members[e.who]; m.up && m.epoch == e.epoch {
			s.autopilotWake(m)
		}
	case evChurn:
		s.churnEvent(e)
	}
}

// heal ends the fault phase: every link restored, the network calm, every
// member running. Liveness is measured from here.
func (s *Simulation) heal() {
	s.healed, s.healedAt = true, s.now
	s.net.calm = true
	s.net.setCut(nil)
	s.nar.say(s.now, "faults healed: network whole and calm, every member running; clients finish what is pending")
	for _, m := range s.members {
		m.tickEvery = s.cfg.Tick
		switch {
		case m.retired:
		case !m.up && m.churnDown:
			s.comeBack(m)
		case !m.up:
			s.startMember(m)
			s.pump(m)
		case m.paused:
			s.resume(m)
		}
	}
}

// sample is the periodic bookkeeping.
func (s *Simulation) sample() {
	s.schedule(event{at: s.now + sampleEvery, kind: evSample})
	if !s.healed {
		s.stats.Windows++
		advanced := s.maxCommit > s.sampledCommit
		if advanced {
			s.stats.AvailableWindows++
		}
		s.sampledCommit = s.maxCommit
		switch {
		case s.demand && advanced:
			s.stats.DemandWindows++
			s.stats.CommitWindows++
			s.stall = 0
		case s.demand:
			s.stats.DemandWindows++
			s.stall += sampleEvery
			s.stats.LongestStall = max(s.stats.LongestStall, s.stall)
		default:
			s.stall = 0
		}
		s.demand = s.clientsBusy()
	}
	if s.nar.on() && s.now%time.Second == 0 {
		s.nar.progress(s.now, s.maxCommit, s.lastCmd)
	}
	if s.healed && s.unsettled() == "" {
		s.settled = true
		s.checkLedger()
		s.stats.Recovery = s.now - s.healedAt
		l := s.leader()
		s.nar.say(s.now, "settled %.2fs after healing: n%d leads term %d, every member applied through %d, no operation pending",
			s.stats.Recovery.Seconds(), l+1, s.view[l].term, s.maxCommit)
	}
}

// unsettled describes what liveness still waits for ("" when nothing).
func (s *Simulation) unsettled() string {
	var missing []string
	l := s.leader()
	// Members outside the leader's configuration (removed, or never
	// added) are not waited for.
	var in uint64 = 1<<len(s.members) - 1
	if l < 0 {
		missing = append(missing, "no leader")
	} else {
		conf := confOf(s.members[l].node.Members())
		latest := s.check.conf.latest()
		in = latest.voters() | latest.learners
		if conf != latest {
			missing = append(missing, "the leader's configuration "+conf.String()+" is not the latest "+latest.String())
		} else if conf.joint() {
			missing = append(missing, "the configuration is still joint "+conf.String())
		} else if s.churn != nil {
			missing = append(missing, s.churnUnsettled(latest)...)
		}
		for i, v := range s.view {
			if in&(1<<i) == 0 {
				continue
			}
			if !s.members[i].up || v.lead != id(l) || v.term != s.view[l].term {
				missing = append(missing, fmt.Sprintf("n%d does not follow n%d", i+1, l+1))
			}
		}
	}
	pending := 0
	for _, c := range s.clients {
		if c.busy {
			pending++
		}
	}
	if s.churn != nil {
		for _, m := range s.members {
			if m.leaving && !m.retired {
				missing = append(missing, fmt.Sprintf("n%d is still leaving", m.id))
			}
		}
	}
	if pending > 0 {
		missing = append(missing, fmt.Sprintf("%d operations pending", pending))
	}
	for i := range s.members {
		if a := s.check.members[i].applied; in&(1<<i) != 0 && a < s.maxCommit {
			missing = append(missing, fmt.Sprintf("n%d applied %d of %d", i+1, a, s.maxCommit))
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("%s after healing at %s: %v", fmtTime(s.now-s.healedAt), fmtTime(s.healedAt), missing)
}

// noteApplied keeps the narration's latest command.
func (s *Simulation) noteApplied(e *raft.Entry) {
	if !s.nar.on() || e.Index <= s.maxApplied {
		return
	}
	s.maxApplied = e.Index
	if cmd, err := DecodeCommand(e.Data); err == nil && len(e.Data) > 0 {
		s.lastCmd = cmd.String()
	}
}

// votesFor lists who granted candidate its vote in term (itself first).
func (s *Simulation) votesFor(candidate raft.NodeID, term uint64) []raft.NodeID {
	vs := append([]raft.NodeID{candidate}, s.votes[logPos{uint64(candidate), term}]...)
	slices.Sort(vs)
	return slices.Compact(vs)
}

// finish closes the run: the final cross-checks, the linearizability check.
func (s *Simulation) finish() Result {
	for _, m := range s.members {
		if m.up && !m.busy {
			s.check.coreMatches(m.idx, m.node, "at the end", true)
		}
	}
	return s.result()
}

// result checks the history and assembles the Result.
func (s *Simulation) result() Result {
	r := Result{Config: s.cfg, Stats: s.stats, VirtualTime: s.now, TraceHash: s.trace.h}
	r.Stats.Commit = s.maxCommit
	r.History = s.hist.operations(s.now + 1)
	start := time.Now()
	r.Linearizable = checkLinearizable(r.History)
	r.CheckTime = time.Since(start)
	if r.Linearizable == LinIllegal {
		s.check.fail(Linearizability, "the history of %d operations is not linearizable", len(r.History))
	}
	r.Violations = s.check.violations
	if s.nar.on() {
		s.nar.say(s.now, "%s", r.Summary())
		for _, v := range r.Violations {
			s.nar.say(v.At, "VIOLATION %s: %s", v.Invariant, v.Detail)
		}
	}
	return r
}
