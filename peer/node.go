package peer

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/raft"
)

// Storage is where a member keeps its log: raft.MemoryStorage, or
// filelog.Log for a native member that survives restarts.
type Storage interface {
	raft.Storage
	// Save durably stores what a Ready asks to persist.
	Save(rd *raft.Ready) error
	// Compact stores a snapshot and drops the log it covers.
	Compact(snap raft.Snapshot) error
}

// Config configures a live member.
type Config struct {
	// Raft configures the core; Raft.Storage is set from Storage.
	Raft raft.Config
	// Storage persists the log. Required.
	Storage Storage
	// Transport carries messages to the other members. Required.
	Transport Transport
	// StateMachine is the replicated state. Required.
	StateMachine StateMachine
	// TickInterval is the core's clock period. Default 10 ms.
	TickInterval time.Duration
	// ProposalTimeout bounds a write or read whose context has no deadline.
	// Default 5 s.
	ProposalTimeout time.Duration
	// MaxBatch bounds how many waiting proposals join one batch. Default 512.
	MaxBatch int
	// Logger receives the member's logs. Default slog.Default().
	Logger *slog.Logger
	// Autopilot, when set, manages the membership while this member leads
	// (see package autopilot): members present in the Transport's Roster
	// join as learners, caught-up learners become voters up to an odd
	// target, silent members are removed. Nil: membership changes only
	// through ChangeMembers.
	Autopilot *autopilot.Config
}

// Errors returned by a live member.
var (
	// ErrStopped is returned once the member has stopped.
	ErrStopped = errors.New("peer: member stopped")
	// ErrNoLeader is returned when no leader is known to take a request.
	ErrNoLeader = raft.ErrNoLeader
	// ErrRemoved is returned when this member is no longer in the
	// configuration; writes it was waiting for may still have committed.
	ErrRemoved = errors.New("peer: member removed from the cluster")
	// ErrLeaderChanged is returned for a write still waiting when the
	// member applies the first entries of a newer leader: the leader that
	// was to order it is gone, and the write was most likely lost with it
	// — but it may still be applied (a deposed leader forwards what it
	// still receives), so its outcome is unknown. Retry if the command is
	// idempotent; read to find out otherwise.
	ErrLeaderChanged = errors.New("peer: the leader changed before the write was applied; it may or may not be applied")
)

// Node is a live member: it owns one goroutine that drives the core.
type Node struct {
	cfg  Config
	log  *slog.Logger
	core *raft.Node
	id   raft.NodeID

	reqs chan request
	done chan struct{}
	err  error // why the loop ended; written before done is closed
	wg   sync.WaitGroup
	stop context.CancelFunc

	seq atomic.Uint64
	// runID tells this run's proposals and reads from a previous run's
	// (see commandID): drawn at each start.
	runID uint64

	// Owned by the loop goroutine:
	writes  map[uint64]*pending // by sequence number
	reads   map[uint64]*pending // by read id, until the ReadState arrives
	ready   []*pending          // reads whose index is known, in index order
	applied uint64
	// term is the core's term as of the last Ready; appliedTerm the term
	// of the last entry applied (see failStaleWrites).
	term, appliedTerm uint64
	mem               membership
}

type requestKind uint8

const (
	reqPropose requestKind = iota
	reqRead
	reqCall
)

type request struct {
	kind requestKind
	p    *pending
	data []byte
	fn   func() // reqCall: runs on the loop goroutine
	// reqPropose from ProposeBatch: the commands and their callers, in
	// order (p and data are unset).
	batch [][]byte
	ps    []*pending
}

// pending is a caller waiting for its write to apply or its read to be safe.
type pending struct {
	ctx    context.Context
	result chan outcome // buffered: the loop never blocks on it
	seq    uint64       // writes: the sequence number in the command header
	term   uint64       // writes: the member's term when it proposed
	index  uint64       // reads: the index to reach
	query  func() any   // reads: what to run once safe
	// pos is the write's position in its ProposeBatch call (whose
	// commands share one result channel).
	pos int
}

type outcome struct {
	value any
	err   error
	pos   int
}

func (p *pending) resolve(v any, err error) {
	select {
	case p.result <- outcome{v, err, p.pos}:
	default:
	}
}

// Start restores the member from its storage and starts its loop. The
// loop runs until ctx is done or Stop is called.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Storage == nil || cfg.Transport == nil || cfg.StateMachine == nil {
		return nil, errors.New("peer: Storage, Transport and StateMachine are required")
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = 10 * time.Millisecond
	}
	if cfg.ProposalTimeout <= 0 {
		cfg.ProposalTimeout = 5 * time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Autopilot != nil {
		if err := cfg.Autopilot.Validate(); err != nil {
			return nil, fmt.Errorf("peer: %w", err)
		}
		ap := cfg.Autopilot.WithDefaults()
		hb := cfg.Raft.HeartbeatTick
		if hb <= 0 {
			hb = 5 // the core's default
		}
		if beat := time.Duration(hb) * cfg.TickInterval; ap.DeadTimeout < 10*beat {
			// A member is promoted only if heard within DeadTimeout/5.
			return nil, fmt.Errorf("peer: Autopilot.DeadTimeout %v is under 10 heartbeat intervals (%v)", ap.DeadTimeout, 10*beat)
		}
		cfg.Autopilot = &ap
	}
	snap, err := cfg.Storage.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("peer: reading the stored snapshot: %w", err)
	}
	if !snap.IsEmpty() {
		if err := cfg.StateMachine.Restore(snap.Data); err != nil {
			return nil, fmt.Errorf("peer: restoring the state machine from snapshot %d: %w", snap.Meta.Index, err)
		}
	}
	rc := cfg.Raft
	rc.Storage = cfg.Storage
	rc.Applied = 0 // the state machine is rebuilt: from the snapshot, then the log
	core, err := raft.NewNode(&rc)
	if err != nil {
		return nil, fmt.Errorf("peer: starting member %d: %w", rc.ID, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	n := &Node{
		cfg: cfg, core: core, id: rc.ID, stop: cancel, runID: randomRun(),
		log:     cfg.Logger.With("member", FormatID(rc.ID)),
		reqs:    make(chan request, 1024),
		done:    make(chan struct{}),
		writes:  map[uint64]*pending{},
		reads:   map[uint64]*pending{},
		applied: snap.Meta.Index,
		// Writes proposed from now on are compared with these.
		term: core.Status().Term, appliedTerm: snap.Meta.Term,
	}
	n.initMembership()
	n.wg.Add(1)
	go n.run(ctx)
	return n, nil
}

// ID returns the member's id.
func (n *Node) ID() raft.NodeID { return n.id }

// Stop stops the loop and waits for it. The transport is closed.
func (n *Node) Stop() {
	n.stop()
	n.wg.Wait()
}

// Done is closed when the member stopped; Err then says why.
func (n *Node) Done() <-chan struct{} { return n.done }

// Err returns why the member stopped (nil while running or after Stop).
func (n *Node) Err() error {
	select {
	case <-n.done:
		return n.err
	default:
		return nil
	}
}

// Propose submits cmd and waits until this member applied it, returning
// the state machine's result. A write whose context ends first may still
// be applied later: its outcome is unknown.
func (n *Node) Propose(ctx context.Context, cmd []byte) (any, error) {
	seq := n.seq.Add(1)
	return n.wait(ctx, request{kind: reqPropose, data: encodeCommand(commandID{uint64(n.id), n.runID, seq}, cmd),
		p: &pending{seq: seq}})
}

// ProposeBatch submits cmds together (one batch for the core, in order)
// and waits until this member applied them all, returning the state
// machine's results in the order of cmds. The error, if any, is the first
// command's that failed (wrapped with its position): the others may have
// been applied, or not. A batch the core refuses (no leader, for one) is
// refused whole, and none of it is applied.
func (n *Node) ProposeBatch(ctx context.Context, cmds [][]byte) ([]any, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.cfg.ProposalTimeout)
		defer cancel()
	}
	result := make(chan outcome, len(cmds)) // each write resolves at most once
	ps := make([]pending, len(cmds))
	req := request{kind: reqPropose, batch: make([][]byte, len(cmds)), ps: make([]*pending, len(cmds))}
	first := n.seq.Add(uint64(len(cmds))) - uint64(len(cmds)) + 1
	// The entries' data share one allocation.
	size := 0
	for _, cmd := range cmds {
		size += maxCommandHeader + len(cmd)
	}
	buf := make([]byte, 0, size)
	for i, cmd := range cmds {
		p := &ps[i]
		p.ctx, p.result, p.seq, p.pos = ctx, result, first+uint64(i), i
		start := len(buf)
		buf = appendCommand(buf, commandID{uint64(n.id), n.runID, p.seq}, cmd)
		req.batch[i] = buf[start:len(buf):len(buf)]
		req.ps[i] = p
	}
	select {
	case n.reqs <- req:
	case <-ctx.Done():
		return nil, fmt.Errorf("peer: batch not submitted: %w", ctx.Err())
	case <-n.done:
		return nil, ErrStopped
	}
	values := make([]any, len(cmds))
	failed := -1
	var ferr error
	for range cmds {
		select {
		case o := <-result:
			values[o.pos] = o.value
			if o.err != nil && (failed < 0 || o.pos < failed) {
				failed, ferr = o.pos, o.err
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("peer: no answer for the whole batch, outcome unknown: %w", ctx.Err())
		case <-n.done:
			return nil, ErrStopped
		}
	}
	if failed >= 0 {
		return values, fmt.Errorf("peer: command %d of %d: %w", failed, len(cmds), ferr)
	}
	return values, nil
}

// Read runs query once every write that completed before Read was called
// is applied here (a linearizable read, through ReadIndex). query runs on
// the member's goroutine: it may read the state machine without locking.
func (n *Node) Read(ctx context.Context, query func() any) (any, error) {
	return n.wait(ctx, request{kind: reqRead, p: &pending{query: query}})
}

func (n *Node) wait(ctx context.Context, req request) (any, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.cfg.ProposalTimeout)
		defer cancel()
	}
	req.p.ctx = ctx
	req.p.result = make(chan outcome, 1)
	select {
	case n.reqs <- req:
	case <-ctx.Done():
		return nil, fmt.Errorf("peer: request not submitted: %w", ctx.Err())
	case <-n.done:
		return nil, ErrStopped
	}
	select {
	case o := <-req.p.result:
		return o.value, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("peer: no answer, outcome unknown: %w", ctx.Err())
	case <-n.done:
		return nil, ErrStopped
	}
}

// call runs fn on the member's goroutine and waits for it.
func (n *Node) call(ctx context.Context, fn func()) error {
	finished := make(chan struct{})
	select {
	case n.reqs <- request{kind: reqCall, fn: func() { fn(); close(finished) }}:
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return ErrStopped
	}
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-n.done:
		return ErrStopped
	}
}

// Status returns the core's view of the member (and, on a leader, of
// every member's log).
func (n *Node) Status(ctx context.Context) (raft.Status, error) {
	var st raft.Status
	err := n.call(ctx, func() { st = n.core.Status() })
	return st, err
}

// Members returns the configuration in force.
func (n *Node) Members(ctx context.Context) (raft.ConfState, error) {
	var cs raft.ConfState
	err := n.call(ctx, func() { cs = n.core.Members() })
	return cs, err
}

// ChangeMembers proposes a membership change (see raft.ConfChange).
func (n *Node) ChangeMembers(ctx context.Context, cc raft.ConfChange) error {
	var err error
	if cerr := n.call(ctx, func() { err = n.core.ProposeConfChange(cc) }); cerr != nil {
		return cerr
	}
	return err
}

// TransferLeadership asks the leader to hand over to target (raft.None:
// the most up-to-date voter).
func (n *Node) TransferLeadership(ctx context.Context, target raft.NodeID) error {
	var err error
	if cerr := n.call(ctx, func() { err = n.core.TransferLeadership(target) }); cerr != nil {
		return cerr
	}
	return err
}

// run is the member's loop: the only goroutine that touches the core,
// the storage and the state machine.
func (n *Node) run(ctx context.Context) {
	defer n.wg.Done()
	defer func() {
		_ = n.cfg.Transport.Close()
		n.failAll(ErrStopped)
		close(n.done)
	}()
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	var autopilotC <-chan time.Time
	if n.cfg.Autopilot != nil {
		t := time.NewTicker(n.autopilotInterval())
		defer t.Stop()
		autopilotC = t.C
	}
	tr := n.cfg.Transport
	var batch [][]byte
	var batchP []*pending
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			n.core.Tick()
		case m := <-tr.Inbox():
			now := time.Now()
			n.step(m, now)
		drain: // take what else arrived, so that one Ready answers it all
			for range 256 {
				select {
				case m := <-tr.Inbox():
					n.step(m, now)
				default:
					break drain
				}
			}
			if n.mem.planNow {
				n.mem.planNow = false
				n.autopilotTick(now)
			}
		case id := <-tr.Unreachable():
			n.core.ReportUnreachable(id)
		case req := <-n.reqs:
			batch, batchP = n.takeRequests(req, batch[:0], batchP[:0])
			n.proposeBatch(batch, batchP)
		case <-sweep.C:
			n.sweep()
		case now := <-autopilotC:
			n.autopilotTick(now)
		}
		if err := n.handleReady(); err != nil {
			n.err = err
			n.log.Error("member stops", "err", err)
			return
		}
	}
}

func (n *Node) step(m raft.Message, now time.Time) {
	if cl := n.core.Cluster(); m.Cluster != 0 && cl != 0 && m.Cluster != cl {
		// Another cluster's member shares the room: the core refuses and
		// counts its messages (Health's Note reports them); they are no
		// sign of life of this cluster's members either.
		_ = n.core.Step(m)
		return
	}
	if n.mem.t.Receive(&m, n.mem.at(now)) { // heard from; a leave request taken
		n.mem.planNow = true
		return
	}
	if err := n.core.Step(m); err != nil {
		n.log.Debug("message refused", "type", m.Type.String(), "from", uint64(m.From), "err", err)
	}
}

// takeRequests handles req and whatever other requests are waiting,
// gathering proposals into one batch.
func (n *Node) takeRequests(req request, batch [][]byte, ps []*pending) ([][]byte, []*pending) {
	for {
		switch req.kind {
		case reqPropose:
			if req.p == nil { // a ProposeBatch
				for _, p := range req.ps {
					n.writes[p.seq] = p
				}
				batch = append(batch, req.batch...)
				ps = append(ps, req.ps...)
				break
			}
			n.writes[req.p.seq] = req.p
			batch = append(batch, req.data)
			ps = append(ps, req.p)
		case reqRead:
			id := n.seq.Add(1)
			n.reads[id] = req.p
			ctx := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, n.runID), id)
			if err := n.core.ReadIndex(ctx); err != nil {
				delete(n.reads, id)
				req.p.resolve(nil, err)
			}
		case reqCall:
			req.fn()
		}
		if len(batch) >= n.cfg.MaxBatch {
			return batch, ps
		}
		select {
		case req = <-n.reqs:
		default:
			return batch, ps
		}
	}
}

func (n *Node) proposeBatch(batch [][]byte, ps []*pending) {
	if len(batch) == 0 {
		return
	}
	if err := n.core.ProposeBatch(batch); err != nil {
		for _, p := range ps {
			delete(n.writes, p.seq)
			p.resolve(nil, err)
		}
		return
	}
	for _, p := range ps {
		p.term = n.term
	}
}

// failStaleWrites fails, with ErrLeaderChanged, the writes proposed in a
// term before term, the term of an entry just applied. Entries are applied
// in log order and a log's terms never decrease, so a write that the leader
// of its term appended and committed was applied before any entry of a
// later term: one still waiting was lost with that leader, or reached a
// later one by a detour (its outcome is unknown). Without this its caller
// would wait for its deadline after every change of leader.
func (n *Node) failStaleWrites(term uint64) {
	for seq, p := range n.writes {
		if p.term != 0 && p.term < term {
			delete(n.writes, seq)
			p.resolve(nil, ErrLeaderChanged)
		}
	}
}

// handleReady drives every pending Ready: persist, send, apply, advance.
func (n *Node) handleReady() error {
	for n.core.HasReady() {
		rd := n.core.Ready()
		if !rd.HardState.IsEmpty() {
			n.term = rd.HardState.Term
		}
		if err := n.cfg.Storage.Save(&rd); err != nil {
			return fmt.Errorf("peer: persisting: %w", err)
		}
		for _, m := range rd.Messages {
			n.cfg.Transport.Send(m)
		}
		if !rd.Snapshot.IsEmpty() {
			if err := n.cfg.StateMachine.Restore(rd.Snapshot.Data); err != nil {
				return fmt.Errorf("peer: installing snapshot %d: %w", rd.Snapshot.Meta.Index, err)
			}
			n.applied = rd.Snapshot.Meta.Index
		}
		for i := range rd.CommittedEntries {
			n.apply(&rd.CommittedEntries[i])
		}
		for _, rs := range rd.ReadStates {
			n.readIndexKnown(rs)
		}
		if rd.ConfState != nil && !isMember(*rd.ConfState, n.id) {
			// Removed: nothing it was asked will be answered by this member.
			n.failAll(ErrRemoved)
		}
		n.core.Advance()
		if ss := rd.SoftState; ss != nil {
			n.log.Info("role changed", "role", ss.Role.String(), "leader", FormatID(ss.Lead), "term", n.core.Status().Term)
		}
		n.observe(&rd)
		n.releaseReads()
		if n.core.ShouldCompact() {
			if err := n.compact(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (n *Node) apply(e *raft.Entry) {
	n.applied = e.Index
	if e.Term > n.appliedTerm {
		n.appliedTerm = e.Term
		defer n.failStaleWrites(e.Term) // once e itself has resolved its write
	}
	if e.Type != raft.EntryNormal || len(e.Data) == 0 {
		return
	}
	id, cmd, err := decodeCommand(e.Data)
	if err != nil {
		n.log.Warn("skipping an entry that is not a command", "index", e.Index, "err", err)
		return
	}
	result := n.cfg.StateMachine.Apply(cmd)
	if raft.NodeID(id.proposer) != n.id || id.run != n.runID {
		return // another member's, or an earlier run of ours
	}
	if p := n.writes[id.seq]; p != nil {
		delete(n.writes, id.seq)
		p.resolve(result, nil)
	}
}

func (n *Node) readIndexKnown(rs raft.ReadState) {
	if len(rs.Context) != 16 || binary.BigEndian.Uint64(rs.Context) != n.runID {
		return // not ours, or asked before a restart
	}
	id := binary.BigEndian.Uint64(rs.Context[8:])
	p := n.reads[id]
	if p == nil {
		return
	}
	delete(n.reads, id)
	p.index = rs.Index
	n.ready = append(n.ready, p)
}

// releaseReads answers the reads whose index is applied.
func (n *Node) releaseReads() {
	k := 0
	for _, p := range n.ready {
		if p.index > n.applied {
			n.ready[k] = p
			k++
			continue
		}
		var v any
		if p.query != nil {
			v = p.query()
		}
		p.resolve(v, nil)
	}
	clear(n.ready[k:])
	n.ready = n.ready[:k]
}

func (n *Node) compact() error {
	image, err := n.cfg.StateMachine.Snapshot()
	if err != nil {
		return fmt.Errorf("peer: snapshotting the state machine: %w", err)
	}
	snap, err := n.core.Compact(image)
	if err != nil {
		return fmt.Errorf("peer: compacting: %w", err)
	}
	if err := n.cfg.Storage.Compact(snap); err != nil {
		return fmt.Errorf("peer: storing snapshot %d: %w", snap.Meta.Index, err)
	}
	return nil
}

// sweep forgets callers that gave up, so abandoned futures do not pile up.
func (n *Node) sweep() {
	for seq, p := range n.writes {
		if p.ctx.Err() != nil {
			delete(n.writes, seq)
		}
	}
	for id, p := range n.reads {
		if p.ctx.Err() != nil {
			delete(n.reads, id)
		}
	}
}

func (n *Node) failAll(err error) {
	for _, p := range n.writes {
		p.resolve(nil, err)
	}
	for _, p := range n.reads {
		p.resolve(nil, err)
	}
	for _, p := range n.ready {
		p.resolve(nil, err)
	}
	clear(n.writes)
	clear(n.reads)
	n.ready = n.ready[:0]
}

func isMember(cs raft.ConfState, id raft.NodeID) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.Learners, id) ||
		slices.Contains(cs.VotersOutgoing, id)
}

// randomRun draws a run nonce.
func randomRun() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:]) // crypto/rand never fails on supported platforms
	return binary.LittleEndian.Uint64(b[:])
}
