package sim

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// member is one simulated host: its core, its storage (which survives
// crashes), its state machine (which does not), and the host loop state.
type member struct {
	idx   int
	id    raft.NodeID
	node  *raft.Node
	store *raft.MemoryStorage
	kv    *kvStore

	up     bool
	paused bool
	// epoch changes at every crash and restart, so that events scheduled
	// for an earlier incarnation (ticks, write completions) are ignored.
	epoch uint64
	// busy: a synced write of pending is in progress; the core may not be
	// called until it completes and Advance is called.
	busy    bool
	pending raft.Ready
	// writeDone: the write completed while the host was paused.
	writeDone bool
	// inputs that arrived while the host could not feed the core.
	inbox []input
	ticks int
	// tickEvery is the host's tick interval (longer while throttled).
	tickEvery time.Duration
	// applied is the last index the state machine applied.
	applied uint64
	// reads wait for the state machine to reach their read index.
	reads []pendingRead
	// unreachable collects peers whose link was found cut while sending.
	unreachable []raft.NodeID
	// joiner: the member was added after bootstrap; it starts with no
	// voters and empty storage and waits for the leader to send it the log.
	joiner bool
	// added: a change adding the joiner was proposed.
	added bool
	// wasIn: the member was in a configuration that came into force.
	wasIn bool
	// retired: removed from the configuration and shut down for good.
	retired bool

	// Churn: the host's membership bookkeeping (lost at a crash); whether
	// the member is leaving (its user's wish, which a restart does not
	// change) and which leave; when churn crashed it, whether it will come
	// back and whether it was in the configuration then; leftOut: a leave
	// step found it out of the cluster, to stop once its inbox is handled.
	ap        apHost
	leaving   bool
	leaveID   uint64
	downAt    time.Duration
	churnDown bool
	wasMember bool
	// electionsAtCrash is Stats.Elections when churn crashed it.
	electionsAtCrash int
	leftOut          bool
}

// inputKind says what an input asks of the core.
type inputKind uint8

const (
	inStep inputKind = iota
	inPropose
	inRead
	inTransfer
	inUnreachable
	inConfChange
	// inAutopilot: the host asks the membership planner (churn).
	inAutopilot
	// inLeave: the host takes its next step out of the cluster (churn).
	inLeave
)

// input is something waiting in a member's inbox.
type input struct {
	kind   inputKind
	msg    raft.Message
	client int
	token  uint64
	data   []byte
	peer   raft.NodeID
	cc     raft.ConfChange
	// conf is the configuration cc was chosen for.
	conf confMask
}

// hostReady is true when the host loop can feed the core.
func (m *member) hostReady() bool { return m.up && !m.paused && !m.busy }

// startMember creates member m's core from its storage, as at boot or
// after a crash, and starts its tick chain.
func (s *Simulation) startMember(m *member) {
	voters := s.voters
	if m.joiner {
		voters = nil
	}
	cfg := &raft.Config{
		ID: m.id, Voters: voters, Storage: m.store,
		Rand:         rand.New(rand.NewPCG(s.rng.Uint64(), s.rng.Uint64())),
		ElectionTick: s.cfg.ElectionTick, HeartbeatTick: s.cfg.HeartbeatTick,
		MaxSizePerMsg: s.cfg.MaxSizePerMsg, MaxInflightMsgs: s.cfg.MaxInflightMsgs,
		ReadOnlyLeaseBased: s.cfg.LeaseReads,
		SnapshotEntries:    s.cfg.SnapshotEntries, CompactionKeepEntries: s.cfg.CompactionKeep,
		SnapshotChunkSize: s.cfg.SnapshotChunk,
	}
	node, err := raft.NewNode(cfg)
	if err != nil {
		s.check.fail(CoreError, "n%d cannot restart from its storage: %v", m.id, err)
		return
	}
	m.node, m.kv, m.up, m.busy, m.writeDone = node, newKVStore(), true, false, false
	m.applied, m.reads = 0, m.reads[:0]
	if snap, _ := m.store.Snapshot(); !snap.IsEmpty() {
		s.restoreState(m, &snap)
	}
	m.epoch++
	if hs, _, _ := m.store.InitialState(); !hs.IsEmpty() {
		s.check.restored(m.idx, node, hs)
	}
	s.check.coreMatches(m.idx, node, "at start", false)
	commit := uint64(1) // a founder's bootstrap entry
	if hs, _, _ := m.store.InitialState(); hs.Commit > 0 || m.joiner {
		commit = hs.Commit
	}
	s.check.started(m.idx, confOf(node.Members()), commit)
	m.tickEvery = s.cfg.Tick
	phase := durN(s.rng, s.cfg.Tick) + 1
	s.schedule(event{at: s.now + phase, kind: evTick, who: m.idx, epoch: m.epoch})
	if s.churn != nil {
		s.apStart(m)
	}
}

// crash stops member m: the core, the state machine and unsent work are
// lost; a write in progress is lost too, or partly kept if writes tear.
func (s *Simulation) crash(m *member) {
	if m.busy && s.cfg.TornWrites && len(m.pending.Entries) > 0 && m.pending.Snapshot.IsEmpty() && s.rng.IntN(2) == 0 {
		// The disk kept a prefix of the entries, but not the hard state
		// written after them.
		k := s.rng.IntN(len(m.pending.Entries) + 1)
		if k > 0 {
			ents := m.pending.Entries[:k]
			if err := m.store.Append(ents); err != nil {
				s.check.fail(CoreError, "n%d: torn write: %v", m.id, err)
			}
			s.check.persisted(m.idx, ents)
			s.stats.TornWrites++
		}
	}
	m.up, m.busy, m.paused, m.writeDone = false, false, false, false
	m.node, m.kv, m.pending = nil, nil, raft.Ready{}
	m.inbox, m.ticks, m.unreachable, m.reads = m.inbox[:0], 0, m.unreachable[:0], m.reads[:0]
	m.epoch++
	hs, _, _ := m.store.InitialState()
	s.check.crashed(m.idx, hs)
	s.view[m.idx] = memberState{}
	s.clientsLost(m.idx)
}

// deliver hands a message to member m's host.
func (s *Simulation) deliver(m *member, msg raft.Message) {
	if !m.up {
		return
	}
	m.inbox = append(m.inbox, input{kind: inStep, msg: msg})
	s.pump(m)
}

// tick is member m's host timer firing.
func (s *Simulation) tick(m *member) {
	s.schedule(event{at: s.now + m.tickEvery, kind: evTick, who: m.idx, epoch: m.epoch})
	switch {
	case m.paused:
		// A frozen host's timers do not fire.
	case m.busy:
		m.ticks++
	default:
		m.node.Tick()
		s.pump(m)
	}
}

// pump runs member m's host loop until it has to wait: feed the core what
// arrived, take a Ready, persist it (synchronously, or starting a write
// that completes later), send, apply, Advance, and again.
func (s *Simulation) pump(m *member) {
	for m.hostReady() {
		s.feed(m)
		if m.leftOut {
			m.leftOut = false
			s.leaveDone(m)
			return
		}
		if !m.node.HasReady() {
			return
		}
		rd := m.node.Ready()
		s.observeReady(m, &rd)
		if rd.MustSync && s.cfg.DiskLatency > 0 {
			if s.bugs.sendBeforePersist {
				s.sendAll(m, &rd)
				rd.Messages = nil
			}
			m.busy, m.pending = true, rd
			s.schedule(event{at: s.now + 1 + durN(s.rng, s.cfg.DiskLatency), kind: evPersisted, who: m.idx, epoch: m.epoch})
			return
		}
		s.complete(m, &rd)
	}
}

// persistedEvent is the completion of member m's write.
func (s *Simulation) persistedEvent(m *member) {
	if !m.busy {
		return
	}
	if m.paused {
		m.writeDone = true
		return
	}
	m.busy = false
	rd := m.pending
	m.pending = raft.Ready{}
	s.complete(m, &rd)
	s.pump(m)
}

// feed hands the core what waited in the inbox.
func (s *Simulation) feed(m *member) {
	for ; m.ticks > 0; m.ticks-- {
		m.node.Tick()
	}
	for i := range m.inbox {
		in := &m.inbox[i]
		switch in.kind {
		case inStep:
			if s.churn != nil && s.apStep(m, &in.msg) {
				break
			}
			if err := m.node.Step(in.msg); err != nil && !expectedStepError(in.msg, err) {
				s.check.fail(CoreError, "n%d refused %v: %v", m.id, in.msg, err)
			}
		case inPropose:
			err := m.node.Propose(in.data)
			s.proposed(in.client, in.token, m.idx, err)
		case inRead:
			err := m.node.ReadIndex(in.data)
			s.proposed(in.client, in.token, m.idx, err)
		case inConfChange:
			s.proposeConfChange(m, in.cc, in.conf)
		case inUnreachable:
			m.node.ReportUnreachable(in.peer)
		case inAutopilot:
			m.ap.tickQueued = false
			s.autopilotTick(m)
		case inLeave:
			m.ap.leaveQueued = false
			if m.leaving && !m.leftOut && s.leaveStep(m) {
				m.leftOut = true
			}
		case inTransfer:
			// The leader may have lost office meanwhile: refusals are fine.
			if err := m.node.TransferLeadership(in.peer); err != nil && !errors.Is(err, raft.ErrNoLeader) &&
				!errors.Is(err, raft.ErrInvalidTransfer) && !errors.Is(err, raft.ErrProposalDropped) {
				s.check.fail(CoreError, "n%d: TransferLeadership(%d): %v", m.id, in.peer, err)
			}
		}
		*in = input{}
	}
	m.inbox = m.inbox[:0]
	if m.ap.planNow {
		m.ap.planNow = false
		s.autopilotTick(m)
	}
}

// expectedStepError reports whether err is a normal answer to msg: a
// forwarded proposal or read reaching a member that has no leader to send
// it to (or that cannot take proposals right now).
func expectedStepError(msg raft.Message, err error) bool {
	forwarded := msg.Type == raft.MsgProp || msg.Type == raft.MsgReadIndex || msg.Type == raft.MsgTransferLeader
	if errors.Is(err, raft.ErrUnknownSender) {
		// A removed member, or one not yet known to a member whose
		// configuration is behind.
		return true
	}
	return forwarded && (errors.Is(err, raft.ErrNoLeader) || errors.Is(err, raft.ErrProposalDropped) ||
		errors.Is(err, raft.ErrConfChangePending) || errors.Is(err, raft.ErrInvalidConfChange) ||
		errors.Is(err, raft.ErrInvalidTransfer))
}

// complete finishes a Ready whose write is durable: store it, send its
// messages, apply its committed entries, Advance.
func (s *Simulation) complete(m *member, rd *raft.Ready) {
	if s.bugs.forgetHardState {
		rd.HardState = raft.HardState{}
	}
	if err := m.store.Save(rd); err != nil {
		s.check.fail(CoreError, "n%d: storing a Ready: %v", m.id, err)
	}
	if !rd.Snapshot.IsEmpty() {
		s.check.snapshotPersisted(m.idx, &rd.Snapshot)
		s.restoreState(m, &rd.Snapshot)
		s.stats.SnapshotsInstalled++
		s.nar.say(s.now, "%s catches up from a snapshot of the log through %d", nodeName(m.id), rd.Snapshot.Meta.Index)
	}
	s.check.persisted(m.idx, rd.Entries)
	s.sendAll(m, rd)
	if s.bugs.readBeforeApply {
		s.takeReads(m, rd.ReadStates)
	}
	for i := range rd.CommittedEntries {
		s.apply(m, &rd.CommittedEntries[i])
	}
	if !s.bugs.readBeforeApply {
		s.takeReads(m, rd.ReadStates)
	}
	s.serveReads(m)
	m.node.Advance()
	if s.churn != nil {
		s.apObserve(m, rd)
	}
	if s.cfg.Snapshots && m.node.ShouldCompact() {
		s.compact(m)
	}
	for _, p := range m.unreachable {
		m.inbox = append(m.inbox, input{kind: inUnreachable, peer: p})
	}
	m.unreachable = m.unreachable[:0]
}
