package raft

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"

	"github.com/tabraft/tabraft/raft/quorum"
)

// raft is the protocol state of one member. It is driven only through
// step and tick and emits messages into msgs; Node wraps it with the
// Ready/Advance bookkeeping.
type raft struct {
	id  NodeID
	cfg Config

	term uint64
	vote NodeID
	lead NodeID
	// cluster is this member's cluster id (0: not known yet);
	// foreignDropped counts messages refused for carrying another, the
	// last of which was foreignCluster.
	cluster        uint64
	foreignDropped uint64
	foreignCluster uint64
	role           Role
	log            raftLog

	// voters decides elections and commitment; learners only replicate.
	voters   quorum.JointConfig
	learners map[NodeID]struct{}
	// prs holds every member's progress (meaningful while leading);
	// peers is the sorted list of the other members, so that everything the
	// core emits comes in a deterministic order.
	prs   map[NodeID]*progress
	peers []NodeID

	votes map[NodeID]bool
	msgs  []Message

	electionElapsed           int
	heartbeatElapsed          int
	randomizedElectionTimeout int

	// appendsDirty: the leader has entries or a commit index to send;
	// MsgApps are built once per Ready so that proposals batch naturally.
	appendsDirty    bool
	uncommittedSize uint64

	// confState is the configuration in force (voters/learners mirror it);
	// confChanged says the host has not been told of it yet.
	confState   ConfState
	confChanged bool
	// confIndex is the index of the last change reflected in confState.
	confIndex uint64
	// quorumChanged: a change applied on the leader; look at the commit
	// index again once the host has seen it.
	quorumChanged bool
	// pendingConfIndex is the index of the last configuration change the
	// leader appended; no other is accepted until it is applied.
	pendingConfIndex uint64

	// snapshot is the latest snapshot (sent to followers that need it);
	// unsavedSnapshot is one received from the leader, for the host to store.
	snapshot           *Snapshot
	snapCRC            uint32
	snapCRCValid       bool
	unsavedSnapshot    *Snapshot
	pendingSnap        *pendingSnapshot
	bytesSinceSnapshot uint64

	leadTransferee NodeID
	ro             readOnly
	readStates     []ReadState
}

func newRaft(c *Config) (*raft, error) {
	cfg, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	hs, cs, err := cfg.Storage.InitialState()
	if err != nil {
		return nil, fmt.Errorf("raft: reading initial state: %w", err)
	}
	snap, err := cfg.Storage.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("raft: reading snapshot: %w", err)
	}
	ents, err := cfg.Storage.Entries()
	if err != nil {
		return nil, fmt.Errorf("raft: reading entries: %w", err)
	}
	r := &raft{id: cfg.ID, cfg: cfg}
	r.log.snapIndex, r.log.snapTerm = snap.Meta.Index, snap.Meta.Term
	for i, e := range ents {
		if e.Index != snap.Meta.Index+1+uint64(i) {
			return nil, fmt.Errorf("raft: stored entries are not contiguous at %d (want %d)",
				e.Index, snap.Meta.Index+1+uint64(i))
		}
		if i > 0 && e.Term < ents[i-1].Term {
			return nil, fmt.Errorf("raft: stored entry %d has term %d below its predecessor's", e.Index, e.Term)
		}
	}
	r.log.entries = ents
	r.log.stable = r.log.lastIndex()
	if hs.Commit > r.log.lastIndex() {
		return nil, fmt.Errorf("raft: stored commit %d is beyond the last stored entry %d", hs.Commit, r.log.lastIndex())
	}
	r.log.applied = max(cfg.Applied, snap.Meta.Index)
	if r.log.applied > r.log.lastIndex() {
		return nil, fmt.Errorf("raft: applied %d is beyond the last stored entry %d", r.log.applied, r.log.lastIndex())
	}
	// A commit index that only advanced is not synced (MustSync is false),
	// so a durable state machine may have applied past the stored one:
	// what it applied was committed.
	r.log.committed = max(hs.Commit, snap.Meta.Index, r.log.applied)
	r.log.applying = r.log.applied
	r.term, r.vote, r.cluster = hs.Term, hs.Vote, hs.Cluster
	if !snap.IsEmpty() {
		r.snapshot = &snap
	}

	if hs.IsEmpty() && len(ents) == 0 && snap.IsEmpty() && len(cfg.Voters) > 0 {
		r.bootstrap(ConfState{Voters: cfg.Voters, Learners: cfg.Learners})
	}
	r.applyConfState(cs)
	r.confIndex = r.log.snapIndex
	// The configuration is the snapshot's plus the committed changes after
	// it. (Later changes take effect as they are handed out for applying.)
	for i := r.log.firstIndex(); i <= r.log.committed; i++ {
		if e := r.log.entry(i); e.Type == EntryConfChange {
			r.applyConfChangeEntry(e)
		}
	}
	if len(r.confState.Voters) == 0 && len(r.confState.Learners) == 0 && len(cfg.Voters) > 0 {
		// A log written without a bootstrap entry: trust the config.
		cs = ConfState{Voters: cfg.Voters, Learners: cfg.Learners}
		cs.normalize()
		r.applyConfState(cs)
	}
	r.confChanged = false
	r.becomeFollower(r.term, None)
	return r, nil
}

// bootstrap starts a new cluster: the initial configuration becomes entry
// 1 (term 1, committed), so that members added later learn it from the log
// like any other change. Every founding member writes the same entry.
func (r *raft) bootstrap(cs ConfState) {
	cs.normalize()
	var cc ConfChange
	for _, id := range cs.Voters {
		cc.Changes = append(cc.Changes, ConfChangeSingle{Type: AddVoter, Node: id})
	}
	for _, id := range cs.Learners {
		cc.Changes = append(cc.Changes, ConfChangeSingle{Type: AddLearner, Node: id})
	}
	r.log.append(Entry{Index: 1, Term: 1, Type: EntryConfChange, Data: cc.Marshal()})
	r.log.committed = 1
	r.term = 1
	r.cluster = foundingClusterID(cs, r.cfg.Rand)
}

// foundingClusterID is the cluster id a bootstrap gives the new cluster.
// A lone founder (how tabraft's members found: peer.FoundingVoters) draws
// it from the core's seeded rand. Several founding members cannot agree on
// a draw, so they derive it from the founding configuration, which they
// share: two clusters founded with the same members get the same id (a
// static configuration refounded after a wipe is not told apart from the
// old cluster; give such a cluster durable storage).
func foundingClusterID(cs ConfState, rnd *rand.Rand) uint64 {
	if len(cs.Voters) == 1 && len(cs.Learners) == 0 {
		return NewClusterID(rnd)
	}
	h := fnv.New64a()
	var b [8]byte
	for _, ids := range [...][]NodeID{cs.Voters, cs.Learners} {
		for _, id := range ids {
			binary.LittleEndian.PutUint64(b[:], uint64(id))
			h.Write(b[:])
		}
		h.Write([]byte{0xff})
	}
	return 1 + h.Sum64()%MaxClusterID
}

// applyConfState installs a configuration.
func (r *raft) applyConfState(cs ConfState) {
	r.confState = cs
	r.confChanged = true
	r.voters = quorum.JointConfig{quorum.MajorityConfig{}, nil}
	for _, id := range cs.Voters {
		r.voters[0][uint64(id)] = struct{}{}
	}
	if len(cs.VotersOutgoing) > 0 {
		r.voters[1] = quorum.MajorityConfig{}
		for _, id := range cs.VotersOutgoing {
			r.voters[1][uint64(id)] = struct{}{}
		}
	}
	r.learners = make(map[NodeID]struct{}, len(cs.Learners))
	for _, id := range cs.Learners {
		r.learners[id] = struct{}{}
	}
	old := r.prs
	r.prs = make(map[NodeID]*progress)
	r.peers = r.peers[:0]
	add := func(id NodeID, learner bool) {
		if _, ok := r.prs[id]; ok {
			return
		}
		pr := old[id]
		if pr == nil {
			pr = &progress{next: r.log.lastIndex() + 1, inflights: newInflights(r.cfg.MaxInflightMsgs, r.cfg.MaxInflightBytes)}
			pr.recentActive = true
		}
		pr.isLearner = learner
		r.prs[id] = pr
		if id != r.id {
			r.peers = append(r.peers, id)
		}
	}
	for _, id := range r.voters.IDs() {
		add(NodeID(id), false)
	}
	for _, id := range cs.Learners {
		add(id, true)
	}
	slices.Sort(r.peers)
	if r.leadTransferee != None && !r.isVoter(r.leadTransferee) {
		r.leadTransferee = None
	}
}

// isMember reports whether id is a voter or learner of the configuration.
func (r *raft) isMember(id NodeID) bool {
	_, ok := r.prs[id]
	return ok
}

// promotable reports whether this member may campaign.
func (r *raft) promotable() bool { return r.voters.Contains(uint64(r.id)) }

// AckedIndex implements quorum.AckedIndexer over the progress map.
func (r *raft) AckedIndex(id quorum.ID) (uint64, bool) {
	pr, ok := r.prs[NodeID(id)]
	if !ok {
		return 0, false
	}
	return pr.match, true
}

func (r *raft) send(m Message) {
	m.From = r.id
	m.Cluster = r.cluster
	if m.Term == 0 && !termless(m.Type) {
		m.Term = r.term
	}
	r.msgs = append(r.msgs, m)
}

// ---- role transitions ----

func (r *raft) reset(term uint64) {
	if r.term != term {
		r.term = term
		r.vote = None
	}
	r.lead = None
	r.electionElapsed = 0
	r.heartbeatElapsed = 0
	r.resetRandomizedElectionTimeout()
	r.votes = nil
	r.appendsDirty = false
	r.uncommittedSize = 0
	r.leadTransferee = None
	r.pendingConfIndex = 0
	r.ro = readOnly{}
	last := r.log.lastIndex()
	for id, pr := range r.prs {
		*pr = progress{next: last + 1, isLearner: pr.isLearner, inflights: pr.inflights}
		pr.inflights.reset()
		if id == r.id {
			pr.match = r.log.stable
		}
	}
}

func (r *raft) resetRandomizedElectionTimeout() {
	r.randomizedElectionTimeout = r.cfg.ElectionTick + r.cfg.Rand.IntN(r.cfg.ElectionTick)
}

func (r *raft) becomeFollower(term uint64, lead NodeID) {
	r.reset(term)
	r.role = Follower
	r.lead = lead
}

func (r *raft) becomePreCandidate() {
	// A pre-candidate keeps its term and vote: it only asks whether it could win.
	r.role = PreCandidate
	r.lead = None
	r.votes = map[NodeID]bool{}
	r.electionElapsed = 0
	r.resetRandomizedElectionTimeout()
}

func (r *raft) becomeCandidate() {
	r.reset(r.term + 1)
	r.role = Candidate
	r.vote = r.id
	r.votes = map[NodeID]bool{}
}

func (r *raft) becomeLeader() {
	r.reset(r.term)
	r.role = Leader
	r.lead = r.id
	for _, pr := range r.prs {
		pr.recentActive = true
	}
	// The no-op of the new term: committing it commits every earlier entry
	// (entries of older terms are never committed by counting, Figure 8).
	_ = r.appendEntries([]Entry{{}})
	// No configuration change until that no-op is applied: a change
	// appended before the leader committed in its term could overlap an
	// uncommitted change of a previous leader (the single-server change bug).
	r.pendingConfIndex = r.log.lastIndex()
}

// ---- ticks ----

func (r *raft) tick() {
	if r.role == Leader {
		r.tickLeader()
		return
	}
	r.electionElapsed++
	if r.promotable() && r.electionElapsed >= r.randomizedElectionTimeout {
		r.electionElapsed = 0
		r.hup()
	}
}

func (r *raft) tickLeader() {
	r.heartbeatElapsed++
	r.electionElapsed++
	if r.electionElapsed >= r.cfg.ElectionTick {
		r.electionElapsed = 0
		r.leadTransferee = None // a transfer gets one election timeout
		if !r.cfg.DisableCheckQuorum && !r.quorumActive() {
			// Cut off from a quorum: stop claiming leadership so clients
			// look elsewhere rather than wait on a leader that cannot commit.
			r.becomeFollower(r.term, None)
			return
		}
		for _, id := range r.peers {
			pr := r.prs[id]
			if !pr.recentActive && pr.state == stateReplicate {
				// Silent for a whole election timeout: stop streaming into
				// the void and probe until it answers.
				pr.becomeProbe()
			}
			pr.recentActive = false
		}
	}
	if r.heartbeatElapsed >= r.cfg.HeartbeatTick {
		r.heartbeatElapsed = 0
		r.bcastHeartbeat()
	}
}

// quorumActive reports whether a quorum was heard from in the last election timeout.
func (r *raft) quorumActive() bool {
	active := make(map[quorum.ID]bool, len(r.prs))
	for id, pr := range r.prs {
		if !pr.isLearner {
			active[uint64(id)] = id == r.id || pr.recentActive
		}
	}
	return r.voters.VoteResult(active) == quorum.VoteWon
}

// ---- elections ----

func (r *raft) hup() {
	if r.role == Leader || !r.promotable() {
		return
	}
	if r.cfg.DisablePreVote {
		r.campaign(Candidate)
	} else {
		r.campaign(PreCandidate)
	}
}

func (r *raft) campaign(kind Role) {
	r.campaignWith(kind, nil)
}

// campaignWith starts an election; ctx marks the vote requests of a
// leadership transfer.
func (r *raft) campaignWith(kind Role, ctx []byte) {
	var voteMsg MessageType
	var term uint64
	if kind == PreCandidate {
		r.becomePreCandidate()
		voteMsg, term = MsgPreVote, r.term+1
	} else {
		r.becomeCandidate()
		voteMsg, term = MsgVote, r.term
	}
	if r.poll(r.id, true) == quorum.VoteWon {
		r.electionWon(kind)
		return
	}
	for _, id := range r.peers {
		if r.prs[id].isLearner {
			continue
		}
		r.send(Message{Type: voteMsg, To: id, Term: term, Index: r.log.lastIndex(), LogTerm: r.log.lastTerm(), Context: ctx})
	}
}

func (r *raft) electionWon(kind Role) {
	if kind == PreCandidate {
		r.campaign(Candidate)
	} else {
		r.becomeLeader()
	}
}

func (r *raft) poll(id NodeID, granted bool) quorum.VoteResult {
	if _, seen := r.votes[id]; !seen {
		r.votes[id] = granted
	}
	votes := make(map[quorum.ID]bool, len(r.votes))
	for id, v := range r.votes {
		votes[uint64(id)] = v
	}
	return r.voters.VoteResult(votes)
}

// ---- step ----

func (r *raft) step(m Message) error {
	if err := r.checkTerm(&m); err != nil || m.Type == numMessageTypes {
		return err
	}
	switch m.Type {
	case MsgHup:
		r.hup()
		return nil
	case MsgVote, MsgPreVote:
		r.handleVoteRequest(m)
		return nil
	}
	switch r.role {
	case Leader:
		return r.stepLeader(m)
	case Candidate, PreCandidate:
		return r.stepCandidate(m)
	default:
		return r.stepFollower(m)
	}
}

// checkTerm applies the term rules common to every role. It marks a message
// to be dropped by setting its Type to numMessageTypes.
func (r *raft) checkTerm(m *Message) error {
	switch {
	case m.Term == 0:
		// Local inputs and proposals carry no term.
	case m.Term > r.term:
		if (m.Type == MsgVote || m.Type == MsgPreVote) && !isTransferVote(m) {
			inLease := !r.cfg.DisableCheckQuorum && r.lead != None && r.electionElapsed < r.cfg.ElectionTick
			if inLease {
				// We heard from a live leader within the minimum election
				// timeout: a healthy leader must not be deposed by a member
				// that merely lost touch (check-quorum's leader lease).
				m.Type = numMessageTypes
				return nil
			}
		}
		switch {
		case m.Type == MsgPreVote:
			// A pre-vote never changes our term.
		case m.Type == MsgPreVoteResp && !m.Reject:
			// A granted pre-vote carries the term we would campaign in.
		case m.Type == MsgApp || m.Type == MsgHeartbeat || m.Type == MsgSnap || m.Type == MsgTimeoutNow:
			r.becomeFollower(m.Term, m.From)
		default:
			r.becomeFollower(m.Term, None)
		}
	case m.Term < r.term:
		switch {
		case m.Type == MsgApp || m.Type == MsgHeartbeat:
			// A stale leader (say, back from a partition) learns our term
			// from this answer and steps down.
			r.send(Message{Type: MsgAppResp, To: m.From})
		case m.Type == MsgPreVote:
			r.send(Message{Type: MsgPreVoteResp, To: m.From, Reject: true})
		}
		m.Type = numMessageTypes
	}
	return nil
}

func (r *raft) handleVoteRequest(m Message) {
	respType := MsgVoteResp
	if m.Type == MsgPreVote {
		respType = MsgPreVoteResp
	}
	canVote := r.vote == m.From ||
		(r.vote == None && r.lead == None) ||
		(m.Type == MsgPreVote && m.Term > r.term)
	if canVote && r.log.isUpToDate(m.Index, m.LogTerm) {
		// Answer in the term of the request, so a granted pre-vote counts
		// in the term the requester will campaign in.
		r.send(Message{Type: respType, To: m.From, Term: m.Term})
		if m.Type == MsgVote {
			r.electionElapsed = 0
			r.vote = m.From
		}
		return
	}
	r.send(Message{Type: respType, To: m.From, Reject: true})
}

func (r *raft) stepLeader(m Message) error {
	switch m.Type {
	case MsgBeat:
		r.bcastHeartbeat()
		return nil
	case MsgProp:
		if r.leadTransferee != None {
			return ErrProposalDropped
		}
		return r.appendEntries(m.Entries)
	case MsgReadIndex:
		r.handleReadIndex(m)
		return nil
	case MsgTransferLeader:
		return r.handleTransferLeader(m)
	case MsgUnreachable:
		if pr := r.prs[m.From]; pr != nil {
			switch pr.state {
			case stateReplicate:
				pr.becomeProbe()
			case stateSnapshot:
				pr.snapXfer.rewind(pr.snapXfer.acked)
			}
		}
		return nil
	}
	pr := r.prs[m.From]
	if pr == nil || m.From == r.id {
		return nil
	}
	switch m.Type {
	case MsgAppResp:
		pr.recentActive = true
		if m.Index > r.log.lastIndex() {
			return fmt.Errorf("%w: %d answers about index %d beyond our last %d",
				ErrInvalidMessage, m.From, m.Index, r.log.lastIndex())
		}
		if m.Reject {
			r.handleAppReject(m, pr)
			return nil
		}
		wasProbe := pr.state == stateProbe
		if pr.maybeUpdate(m.Index) || (wasProbe && pr.match == m.Index) {
			switch {
			case pr.state == stateProbe:
				pr.becomeReplicate()
			case pr.state == stateSnapshot && pr.match >= pr.pendingSnapshot:
				pr.becomeReplicate()
			case pr.state == stateReplicate:
				pr.inflights.freeLE(m.Index)
			}
			r.maybeCommit()
			r.appendsDirty = true
		}
		r.maybeFinishTransfer(m.From, pr)
	case MsgSnapResp:
		pr.recentActive = true
		r.handleSnapResp(m, pr)
	case MsgHeartbeatResp:
		pr.recentActive = true
		pr.probeSent = false
		r.handleReadAck(m.From, m.Context)
		switch {
		case pr.state == stateSnapshot:
			r.snapshotHeartbeat(m.From, pr)
		case pr.match < r.log.lastIndex():
			if pr.state == stateReplicate && pr.inflights.full() {
				pr.inflights.freeFirst()
			}
			// Something is outstanding: retry (an empty MsgApp probes
			// whether the follower has what was already sent).
			r.sendAppend(m.From, pr, true)
		}
	}
	return nil
}

func (r *raft) handleAppReject(m Message, pr *progress) {
	switch pr.state {
	case stateReplicate:
		if m.Index <= pr.match {
			return // stale: about entries already acknowledged
		}
	case stateProbe:
		if m.Index != pr.next-1 {
			return // stale: answers an earlier probe
		}
	default:
		return
	}
	next := m.RejectHint
	if m.HintTerm > 0 {
		// Skip the follower's whole conflicting term: if we hold entries of
		// that term, the last of them is the likeliest match.
		if idx := r.log.lastIndexOfTerm(m.HintTerm, m.Index); idx > 0 {
			next = idx + 1
		}
	}
	next = max(min(next, m.Index), pr.match+1)
	pr.becomeProbe()
	pr.next = next
	r.appendsDirty = true
}

func (r *raft) stepCandidate(m Message) error {
	switch m.Type {
	case MsgProp, MsgReadIndex, MsgTransferLeader:
		return ErrNoLeader
	case MsgApp, MsgHeartbeat, MsgSnap:
		// A leader of our term exists: it won; follow it.
		r.becomeFollower(m.Term, m.From)
		return r.stepFollower(m)
	case MsgVoteResp, MsgPreVoteResp:
		if (m.Type == MsgVoteResp) != (r.role == Candidate) || !r.isVoter(m.From) {
			return nil
		}
		switch r.poll(m.From, !m.Reject) {
		case quorum.VoteWon:
			r.electionWon(r.role)
		case quorum.VoteLost:
			r.becomeFollower(r.term, None)
		}
	}
	return nil
}

func (r *raft) isVoter(id NodeID) bool { return r.voters.Contains(uint64(id)) }

func (r *raft) stepFollower(m Message) error {
	switch m.Type {
	case MsgProp, MsgReadIndex, MsgTransferLeader:
		if r.lead == None {
			return ErrNoLeader
		}
		if m.From != r.id && m.From == r.lead {
			return nil // never bounce a request back to where it came from
		}
		if m.From != None && m.From != r.id {
			return nil // forward only our own requests: no forwarding chains
		}
		m.To = r.lead
		r.send(m)
		return nil
	case MsgReadIndexResp:
		if m.From == r.lead {
			r.readStates = append(r.readStates, ReadState{Index: m.Index, Context: m.Context})
		}
		return nil
	case MsgTimeoutNow:
		// Only our leader may hand us its leadership; from anyone else it
		// would be a way to force elections.
		if m.From == r.lead && r.promotable() {
			// Our leader asks us to take over: skip pre-vote, we know we can win.
			r.campaignWith(Candidate, transferContext)
		}
		return nil
	case MsgSnap:
		r.electionElapsed = 0
		r.lead = m.From
		r.adoptCluster(m.Cluster)
		return r.handleSnapshot(m)
	case MsgApp:
		r.electionElapsed = 0
		r.lead = m.From
		r.adoptCluster(m.Cluster)
		return r.handleAppend(m)
	case MsgHeartbeat:
		r.electionElapsed = 0
		r.lead = m.From
		r.adoptCluster(m.Cluster)
		r.log.commitTo(min(m.Commit, r.log.lastIndex()))
		r.send(Message{Type: MsgHeartbeatResp, To: m.From, Context: m.Context})
	}
	return nil
}

// adoptCluster makes a member that knows no cluster id yet (new, wiped, or
// of an older build) take that of the leader it now follows. Once known,
// the id never changes: Node.Step refuses messages of other ids first.
func (r *raft) adoptCluster(id uint64) {
	if r.cluster == 0 {
		r.cluster = id
	}
}

func (r *raft) handleAppend(m Message) error {
	if c := r.log.committed; m.Index < c {
		// Everything up to our commit index already matches the leader.
		// Keep what the message carries beyond it (a duplicated or late
		// MsgApp), anchored at the commit index if the terms agree there.
		k := c - m.Index
		ct, ok := r.log.term(c)
		if !ok || uint64(len(m.Entries)) <= k || m.Entries[k-1].Term != ct {
			r.send(Message{Type: MsgAppResp, To: m.From, Index: c})
			return nil
		}
		m.Index, m.LogTerm, m.Entries = c, ct, m.Entries[k:]
	}
	lastNew, ok, err := r.log.maybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries)
	if err != nil {
		return err
	}
	if ok {
		r.send(Message{Type: MsgAppResp, To: m.From, Index: lastNew})
		return nil
	}
	hint, hintTerm := r.log.conflictHint(m.Index)
	r.send(Message{Type: MsgAppResp, To: m.From, Index: m.Index, Reject: true,
		RejectHint: hint, HintTerm: hintTerm})
	return nil
}

// ---- leader replication ----

// appendEntries adds proposals to the leader's log, stamping term and index.
func (r *raft) appendEntries(ents []Entry) error {
	var size uint64
	confAt := -1
	for i := range ents {
		size += ents[i].size()
		if ents[i].Type == EntryConfChange {
			if err := r.checkConfChange(&ents[i], confAt >= 0); err != nil {
				return err
			}
			confAt = i
		} else if ents[i].Type != EntryNormal {
			return fmt.Errorf("%w: entry type %d", ErrInvalidMessage, ents[i].Type)
		}
	}
	// Configuration changes are exempt: refusing a leave-joint would
	// strand the cluster in its joint configuration.
	if limit := r.cfg.MaxUncommittedEntriesSize; limit > 0 && confAt < 0 && r.uncommittedSize > 0 && r.uncommittedSize+size > limit {
		return ErrProposalDropped
	}
	last := r.log.lastIndex()
	// Stamp in place: the proposal's slice is ours (log.append copies).
	for i := range ents {
		ents[i].Term, ents[i].Index = r.term, last+1+uint64(i)
	}
	r.log.append(ents...)
	r.uncommittedSize += size
	r.appendsDirty = true
	if confAt >= 0 {
		r.pendingConfIndex = last + 1 + uint64(confAt)
	}
	return nil
}

// checkConfChange admits a proposed configuration change on the leader:
// one at a time, only after the previous one is applied and only once the
// leader committed an entry of its term, and only if it applies cleanly.
func (r *raft) checkConfChange(e *Entry, another bool) error {
	if another || r.pendingConfIndex > r.log.applying {
		return ErrConfChangePending
	}
	cc, err := UnmarshalConfChange(e.Data)
	if err != nil {
		return err
	}
	_, err = nextConfState(r.confState, cc)
	return err
}

// applyConfChangeEntry applies a committed configuration change. Invalid
// ones are skipped by every member alike, since all see the same log.
func (r *raft) applyConfChangeEntry(e *Entry) {
	if e.Index <= r.confIndex {
		return // already in force (replayed at start, or in a snapshot)
	}
	r.confIndex = e.Index
	cc, err := UnmarshalConfChange(e.Data)
	if err != nil {
		return
	}
	next, err := nextConfState(r.confState, cc)
	if err != nil {
		return
	}
	if r.role == Leader {
		r.farewell(next)
	}
	r.applyConfState(next)
	if r.role != Leader {
		return
	}
	// The quorum changed: what the new one already holds may be committed
	// (checked at Advance, so that the Ready reporting the new configuration
	// comes before any commit it allows), and new members should hear from
	// us at once.
	r.quorumChanged = true
	r.appendsDirty = true
	if !r.isVoter(r.id) {
		// Removed or demoted: tell the remaining voters it replicates to how far the log
		// is committed — this change included, which they may not know yet
		// and need in order to elect anyone under the new configuration
		// (still in the joint one, a voter may need the vote of this
		// member, which refuses it when its log is longer: a deadlock the
		// simulator found) — then hand over to the best remaining voter
		// rather than leave the cluster to time out, and step down.
		for _, id := range r.peers {
			if r.isVoter(id) && r.prs[id].state == stateReplicate {
				r.sendCommit(id)
			}
		}
		if t := r.bestTransferTarget(); t != None && r.prs[t].match == r.log.lastIndex() {
			r.send(Message{Type: MsgTimeoutNow, To: t})
		}
		r.becomeFollower(r.term, None)
	}
}

// farewell tells the members that next drops how far the log is
// committed: once out of the configuration they hear nothing more from
// the leader, and without this they would never apply their own removal
// (a member leaving gracefully waits for exactly that). The message is an
// empty MsgApp after everything already sent to the member, so it commits
// there no more than what the member holds and the leader has committed.
func (r *raft) farewell(next ConfState) {
	for _, id := range r.peers {
		if slices.Contains(next.Voters, id) || slices.Contains(next.Learners, id) ||
			slices.Contains(next.VotersOutgoing, id) || slices.Contains(next.LearnersNext, id) {
			continue
		}
		r.sendCommit(id)
	}
}

// sendCommit sends id an empty MsgApp after everything already sent to it,
// so it commits there no more than what id holds and the leader committed.
func (r *raft) sendCommit(id NodeID) {
	pr := r.prs[id]
	if pr == nil {
		return
	}
	if term, ok := r.log.term(pr.next - 1); ok {
		r.send(Message{Type: MsgApp, To: id, Index: pr.next - 1, LogTerm: term, Commit: r.log.committed})
	}
}

// maybeLeaveJoint has the leader propose leaving a joint configuration
// once the change that entered it is applied — also when that change was
// made under a previous leader.
func (r *raft) maybeLeaveJoint() {
	if r.role == Leader && r.confState.IsJoint() && r.pendingConfIndex <= r.log.applying {
		_ = r.appendEntries([]Entry{{Type: EntryConfChange, Data: ConfChange{LeaveJoint: true}.Marshal()}})
	}
}

// maybeCommit advances the commit index to what a quorum stores, but only
// through an entry of the current term (Raft §5.4.2, Figure 8).
func (r *raft) maybeCommit() bool {
	mci := r.voters.CommittedIndex(r)
	if mci <= r.log.committed {
		return false
	}
	if t, _ := r.log.term(mci); t != r.term {
		return false
	}
	for i := r.log.committed + 1; i <= mci; i++ {
		s := r.log.entry(i).size()
		r.uncommittedSize -= min(s, r.uncommittedSize)
	}
	r.log.commitTo(mci)
	r.appendsDirty = true
	r.releaseWaitingReads()
	return true
}

// flushAppends sends what followers are missing: new entries (bounded by
// message size and the inflight window) and commit advances.
func (r *raft) flushAppends() {
	if r.role != Leader || !r.appendsDirty {
		return
	}
	r.appendsDirty = false
	for _, id := range r.peers {
		pr := r.prs[id]
		if pr.state == stateSnapshot {
			r.sendSnapshotChunks(id, pr)
			continue
		}
		sent := false
		for r.sendAppend(id, pr, false) {
			sent = true
			if pr.state != stateReplicate {
				break
			}
		}
		if !sent && pr.sentCommit < r.log.committed && !pr.paused() {
			r.sendAppend(id, pr, true)
		}
	}
}

// sendAppend sends one MsgApp to id starting at its next index; with
// sendIfEmpty it sends one even with no entries (to carry the commit index
// or to probe). It reports whether a message was sent.
func (r *raft) sendAppend(id NodeID, pr *progress, sendIfEmpty bool) bool {
	if pr.paused() {
		return false
	}
	prevIndex := pr.next - 1
	prevTerm, ok := r.log.term(prevIndex)
	if !ok {
		// The entries this follower needs were compacted away.
		return r.startSnapshot(id, pr)
	}
	ents := r.log.slice(pr.next, r.log.lastIndex()+1, r.cfg.MaxSizePerMsg)
	if len(ents) == 0 && !sendIfEmpty {
		return false
	}
	if n := len(ents); n > 0 && pr.state == stateReplicate {
		var bytes uint64
		for i := range ents {
			bytes += ents[i].size()
		}
		last := ents[n-1].Index
		pr.next = last + 1
		pr.inflights.add(last, bytes)
	}
	if pr.state == stateProbe {
		pr.probeSent = true
	}
	pr.sentCommit = r.log.committed
	r.send(Message{Type: MsgApp, To: id, Index: prevIndex, LogTerm: prevTerm, Entries: ents, Commit: r.log.committed})
	return true
}

func (r *raft) bcastHeartbeat() {
	for _, id := range r.peers {
		pr := r.prs[id]
		// Every heartbeat carries the current read round: an answer to it
		// confirms leadership after every read admitted into that round.
		r.send(Message{Type: MsgHeartbeat, To: id, Commit: min(pr.match, r.log.committed),
			Context: encodeRound(r.ro.sentRound)})
	}
}

// advanceStable is called when the host made entries durable.
func (r *raft) advanceStable(index, term uint64) {
	r.log.stableTo(index, term)
	if r.role == Leader {
		if pr := r.prs[r.id]; pr != nil && pr.match < r.log.stable {
			pr.match = r.log.stable
			pr.next = r.log.stable + 1
			r.maybeCommit()
		}
	}
}

// afterAdvance runs what waits for the host to have handled a Ready.
func (r *raft) afterAdvance() {
	if r.quorumChanged {
		r.quorumChanged = false
		if r.role == Leader {
			r.maybeCommit()
		}
	}
}

// termless reports whether t travels without a term: requests a follower
// forwards to its leader.
// MaxClusterID bounds the ids NewClusterID draws: below 2^53, so that an id
// survives a JavaScript number (the browser API reports it) and takes at
// most 8 bytes as a varint on the wire.
const MaxClusterID = 1<<53 - 1

// NewClusterID draws a cluster id, in [1, MaxClusterID], from rnd.
func NewClusterID(rnd *rand.Rand) uint64 { return 1 + rnd.Uint64N(MaxClusterID) }

func termless(t MessageType) bool {
	return t == MsgProp || t == MsgReadIndex || t == MsgTransferLeader
}
