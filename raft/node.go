package raft

import (
	"errors"
	"fmt"
	"slices"
)

// Node is one member's consensus core: a deterministic state machine with
// no goroutines, clock or I/O. The host feeds it ticks, messages and
// proposals, and repeatedly collects a Ready, handles it (see Ready for the
// order) and calls Advance. All methods must be called from one goroutine,
// and no other method may be called between Ready and Advance.
type Node struct {
	r        *raft
	prevSoft SoftState
	prevHard HardState

	// What the outstanding Ready handed out, for Advance.
	inReady       bool
	readyHard     HardState
	readyLastEnt  Entry
	readyApplying uint64
}

// NewNode creates a member from its configuration, restoring whatever
// cfg.Storage holds.
func NewNode(cfg *Config) (*Node, error) {
	r, err := newRaft(cfg)
	if err != nil {
		return nil, err
	}
	n := &Node{r: r}
	n.prevSoft = n.softState()
	// What the host has persisted, not what the core holds: a bootstrap
	// changes the hard state before the first Ready, which must carry it.
	// (newRaft already read the storage without error.)
	n.prevHard, _, _ = cfg.Storage.InitialState()
	return n, nil
}

func (n *Node) softState() SoftState { return SoftState{Lead: n.r.lead, Role: n.r.role} }

func (n *Node) hardState() HardState {
	return HardState{Term: n.r.term, Vote: n.r.vote, Commit: n.r.log.committed, Cluster: n.r.cluster}
}

// Tick advances the member's logical clock by one tick.
func (n *Node) Tick() { n.r.tick() }

// Campaign makes the member start an election now (with a pre-vote phase
// unless disabled).
func (n *Node) Campaign() error { return n.r.step(Message{Type: MsgHup}) }

// Propose submits data to be appended to the log. On a follower it is
// forwarded to the leader; with no known leader it fails with ErrNoLeader.
// A nil error means accepted for replication, not committed.
func (n *Node) Propose(data []byte) error {
	return n.r.step(Message{Type: MsgProp, From: n.r.id, Entries: []Entry{{Data: data}}})
}

// ProposeBatch submits several commands as one proposal (they are appended
// contiguously and replicated together).
func (n *Node) ProposeBatch(data [][]byte) error {
	if len(data) == 0 {
		return nil
	}
	ents := make([]Entry, len(data))
	for i, d := range data {
		ents[i].Data = d
	}
	return n.r.step(Message{Type: MsgProp, From: n.r.id, Entries: ents})
}

// Step hands the member a message received from the network. Malformed
// messages, local-only types and messages from members outside the
// configuration are refused with an error and change nothing.
func (n *Node) Step(m Message) error {
	if err := n.validate(&m); err != nil {
		return err
	}
	return n.r.step(m)
}

// ReportUnreachable tells the core that a message to id could not be
// delivered, so replication to it falls back to probing.
func (n *Node) ReportUnreachable(id NodeID) {
	_ = n.r.step(Message{Type: MsgUnreachable, From: id})
}

// validate rejects what no correct member sends. The core must survive
// arbitrary bytes from a hostile or buggy peer without breaking an invariant.
func (n *Node) validate(m *Message) error {
	r := n.r
	if m.Cluster != 0 && r.cluster != 0 && m.Cluster != r.cluster {
		// Another cluster's member: neither its term, nor its entries,
		// snapshot or votes concern us.
		r.foreignDropped++
		r.foreignCluster = m.Cluster
		return fmt.Errorf("%w: %s from %d of cluster %d, this is %d", ErrForeignCluster, m.Type, m.From, m.Cluster, r.cluster)
	}
	if m.Type >= numMessageTypes {
		return fmt.Errorf("%w: unknown type %d", ErrInvalidMessage, uint8(m.Type))
	}
	if m.Type.IsLocal() {
		return fmt.Errorf("%w: %s", ErrStepLocalMsg, m.Type)
	}
	if m.From == None || m.From == r.id {
		return fmt.Errorf("%w: %s from %d", ErrInvalidMessage, m.Type, m.From)
	}
	if m.To != r.id {
		return fmt.Errorf("%w: %s addressed to %d, this is %d", ErrInvalidMessage, m.Type, m.To, r.id)
	}
	if m.Term == 0 && !termless(m.Type) {
		return fmt.Errorf("%w: %s without a term", ErrInvalidMessage, m.Type)
	}
	// Also when this member knows no configuration at all: it is new, or
	// its storage was wiped. It must not vote (a member that lost its state
	// and came back under the same id would otherwise elect a stale
	// candidate of a configuration that still lists it: vote amnesia).
	if !r.isMember(m.From) && !acceptedFromStrangers(m.Type) {
		return fmt.Errorf("%w: %s from %d", ErrUnknownSender, m.Type, m.From)
	}
	switch m.Type {
	case MsgApp:
		if m.LogTerm > m.Term {
			return fmt.Errorf("%w: MsgApp prev term %d above message term %d", ErrInvalidMessage, m.LogTerm, m.Term)
		}
		prevTerm := m.LogTerm
		for i := range m.Entries {
			e := &m.Entries[i]
			if e.Index != m.Index+1+uint64(i) || e.Index == 0 {
				return fmt.Errorf("%w: MsgApp entry %d has index %d after prev %d", ErrInvalidMessage, i, e.Index, m.Index)
			}
			if e.Term < prevTerm || e.Term > m.Term || e.Term == 0 {
				return fmt.Errorf("%w: MsgApp entry %d has term %d (prev %d, message %d)", ErrInvalidMessage, e.Index, e.Term, prevTerm, m.Term)
			}
			prevTerm = e.Term
		}
	case MsgSnap, MsgSnapResp:
		if m.Chunk == nil {
			return fmt.Errorf("%w: %s without a chunk", ErrInvalidMessage, m.Type)
		}
	case MsgVote, MsgPreVote:
		if m.LogTerm > m.Term {
			return fmt.Errorf("%w: %s last log term %d above its term %d", ErrInvalidMessage, m.Type, m.LogTerm, m.Term)
		}
	}
	return nil
}

// acceptedFromStrangers lists what a member accepts from outside its known
// configuration: what a leader sends. A member whose configuration is
// behind (it has not yet applied its own addition, or the leader's) must
// still be reachable by the leader; elections and proposals stay closed.
func acceptedFromStrangers(t MessageType) bool {
	switch t {
	case MsgApp, MsgHeartbeat, MsgSnap:
		return true
	}
	return false
}

// HasReady reports whether Ready would return anything.
func (n *Node) HasReady() bool {
	r := n.r
	if r.role == Leader && (r.appendsDirty || r.needReadRound()) {
		return true
	}
	return len(r.msgs) > 0 || n.softState() != n.prevSoft || n.hardState() != n.prevHard ||
		r.log.stable < r.log.lastIndex() || r.log.hasNextCommitted() ||
		len(r.readStates) > 0 || r.unsavedSnapshot != nil || r.confChanged
}

// Ready returns the work accumulated since the last Advance. Handle it and
// call Advance before calling anything else on the Node.
func (n *Node) Ready() Ready {
	r := n.r
	var rd Ready
	// Hand out committed entries first: configuration changes take effect
	// as they are handed out, and may make the leader append (leave a joint
	// configuration) or step down, which the rest of this Ready reflects.
	rd.CommittedEntries = r.log.nextCommitted(r.cfg.MaxCommittedSizePerReady)
	if k := len(rd.CommittedEntries); k > 0 {
		r.log.applying = rd.CommittedEntries[k-1].Index
		for i := range rd.CommittedEntries {
			e := &rd.CommittedEntries[i]
			r.bytesSinceSnapshot += e.size()
			if e.Type == EntryConfChange {
				r.applyConfChangeEntry(e)
			}
		}
		r.maybeLeaveJoint()
	}
	r.flushAppends()
	if r.role == Leader && r.needReadRound() {
		r.sendReadRound()
	}
	if ss := n.softState(); ss != n.prevSoft {
		rd.SoftState = &ss
		n.prevSoft = ss
	}
	if hs := n.hardState(); hs != n.prevHard {
		rd.HardState = hs
		rd.MustSync = hs.Term != n.prevHard.Term || hs.Vote != n.prevHard.Vote || hs.Cluster != n.prevHard.Cluster
	}
	if r.unsavedSnapshot != nil {
		rd.Snapshot = *r.unsavedSnapshot
		r.unsavedSnapshot = nil
		rd.MustSync = true
	}
	if u := r.log.unstable(); len(u) > 0 {
		rd.Entries = u
		rd.MustSync = true
	}
	if r.confChanged {
		cs := r.confState
		rd.ConfState = &cs
		r.confChanged = false
	}
	rd.Messages = r.msgs
	r.msgs = nil
	rd.ReadStates = r.readStates
	r.readStates = nil

	n.inReady = true
	n.readyHard = rd.HardState
	n.readyLastEnt = Entry{}
	if k := len(rd.Entries); k > 0 {
		n.readyLastEnt = Entry{Index: rd.Entries[k-1].Index, Term: rd.Entries[k-1].Term}
	}
	n.readyApplying = r.log.applying
	return rd
}

// Advance tells the core the last Ready was handled: its entries and hard
// state are durable, its messages sent, its committed entries applied.
func (n *Node) Advance() {
	if !n.inReady {
		return
	}
	n.inReady = false
	r := n.r
	if !n.readyHard.IsEmpty() {
		n.prevHard = n.readyHard
	}
	if n.readyLastEnt.Index > 0 {
		r.advanceStable(n.readyLastEnt.Index, n.readyLastEnt.Term)
	}
	if n.readyApplying > r.log.applied {
		r.log.applied = n.readyApplying
	}
	r.afterAdvance()
}

// ProposeConfChange proposes a membership change. Only one may be pending
// at a time (ErrConfChangePending); see ConfChange for one-step and joint
// changes.
func (n *Node) ProposeConfChange(cc ConfChange) error {
	if _, err := nextConfState(n.r.confState, cc); err != nil {
		return err
	}
	return n.r.step(Message{Type: MsgProp, From: n.r.id,
		Entries: []Entry{{Type: EntryConfChange, Data: cc.Marshal()}}})
}

// ReadIndex requests a linearizable read. When it is safe, a ReadState
// with the same ctx appears in a Ready: serve the read once the state
// machine has applied up to its Index. Give each request a distinct ctx.
func (n *Node) ReadIndex(ctx []byte) error {
	return n.r.step(Message{Type: MsgReadIndex, From: n.r.id, Context: ctx})
}

// TransferLeadership asks the leader to hand leadership to target (None:
// the most up-to-date voter). Proposals are refused until it completes or
// an election timeout passes.
func (n *Node) TransferLeadership(target NodeID) error {
	return n.r.step(Message{Type: MsgTransferLeader, From: n.r.id, Index: uint64(target)})
}

// ShouldCompact reports whether the compaction policy (Config.SnapshotEntries,
// Config.SnapshotBytes) asks for a snapshot now.
func (n *Node) ShouldCompact() bool { return n.r.shouldCompact() }

// Compact records data, the state machine's image at the last applied
// index, as the latest snapshot and drops the log behind it (keeping
// Config.CompactionKeepEntries). Call it after Advance; store the returned
// snapshot (MemoryStorage.Compact) so a restart begins from it. The core
// keeps data to send to followers: it must not be modified afterwards.
func (n *Node) Compact(data []byte) (Snapshot, error) {
	if n.inReady {
		return Snapshot{}, errors.New("raft: Compact called between Ready and Advance")
	}
	return n.r.compact(data)
}

// Status is a snapshot of a member's state for display and tests.
type Status struct {
	ID        NodeID
	Role      Role
	Lead      NodeID
	Term      uint64
	Vote      NodeID
	Commit    uint64
	Applied   uint64
	LastIndex uint64
	LastTerm  uint64
	// Cluster is the member's cluster id (0: not known yet).
	Cluster uint64
	// ForeignDropped counts the messages refused because they carried
	// another cluster's id; ForeignCluster is the id the last one carried.
	ForeignDropped uint64
	ForeignCluster uint64
	// Progress is the leader's view of each member (nil unless leading).
	Progress map[NodeID]ProgressStatus
}

// ProgressStatus is the leader's view of one member's log.
type ProgressStatus struct {
	Match, Next  uint64
	State        string
	RecentActive bool
	Learner      bool
}

// Status returns the member's current state.
func (n *Node) Status() Status {
	r := n.r
	s := Status{
		ID: r.id, Role: r.role, Lead: r.lead, Term: r.term, Vote: r.vote,
		Commit: r.log.committed, Applied: r.log.applied,
		LastIndex: r.log.lastIndex(), LastTerm: r.log.lastTerm(),
		Cluster: r.cluster, ForeignDropped: r.foreignDropped, ForeignCluster: r.foreignCluster,
	}
	if r.role == Leader {
		s.Progress = make(map[NodeID]ProgressStatus, len(r.prs))
		for id, pr := range r.prs {
			s.Progress[id] = ProgressStatus{Match: pr.match, Next: pr.next, State: pr.state.String(),
				RecentActive: pr.recentActive, Learner: pr.isLearner}
		}
	}
	return s
}

// Cluster returns the member's cluster id (0: not known yet); see
// Message.Cluster.
func (n *Node) Cluster() uint64 { return n.r.cluster }

// Members returns the configuration in force.
func (n *Node) Members() ConfState {
	cs := n.r.confState
	return ConfState{Voters: slices.Clone(cs.Voters), Learners: slices.Clone(cs.Learners),
		VotersOutgoing: slices.Clone(cs.VotersOutgoing), LearnersNext: slices.Clone(cs.LearnersNext)}
}
