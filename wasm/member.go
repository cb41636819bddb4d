package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/peer/rtc"
	"github.com/tabraft/tabraft/raft"
)

// Env is what a member gets from its surroundings: the browser's, or a
// test's.
type Env struct {
	// Logger receives the member's logs. Nil discards them.
	Logger *slog.Logger
	// Storage keeps the member's log; it outlives stop and restart and is
	// closed (if it is an io.Closer) when the member leaves. Required.
	Storage peer.Storage
	// Dial connects a transport for one run of the member: at join and at
	// each restart. Required.
	Dial func(ctx context.Context) (Transport, error)
	// Raft tunes the core; ID, Voters and Storage are set by the member.
	Raft raft.Config
	// TickInterval is the core's clock period (zero: the node's default).
	TickInterval time.Duration
	// OnLeft is called once the member left and closed its storage.
	OnLeft func()
}

// Member is a live member of a room, as the JavaScript API exposes it. Its
// methods are safe for concurrent use.
type Member struct {
	opts  Options
	env   Env
	log   *slog.Logger
	store *observed
	sm    *machine
	bus   *bus
	cut   atomic.Bool // disconnect(): shared with every run's link

	ctx    context.Context // the member's life: ends when it left
	cancel context.CancelFunc

	mu   sync.Mutex
	cur  *run // nil while stopped
	busy bool // a stop, restart or leave is under way
	left bool
	last Status // the last status of a running node, for status() when stopped
}

// run is one start of the node, until it stops.
type run struct {
	node    *peer.Node
	link    *link
	tr      Transport
	started time.Time
	stop    context.CancelFunc // ends the run's helpers
	helpers sync.WaitGroup
}

// Timing of the member's waits.
const (
	retryBase      = 20 * time.Millisecond  // first wait before retrying a request without a leader
	retryMax       = 250 * time.Millisecond // longest wait between retries
	requestTimeout = 5 * time.Second        // bound of a request whose context has none
	leaveStep      = 2 * time.Second        // bound of each step of leave
)

// Join starts a member: it opens a transport, founds a cluster of one when
// its storage is empty and nobody else is in the room, else starts without
// a configuration and waits to be added (or restarts from its storage).
func Join(ctx context.Context, opts Options, env Env) (*Member, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if env.Storage == nil || env.Dial == nil {
		return nil, errors.New("join: Env.Storage and Env.Dial are required")
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("room", opts.Room) // the node and the transport name the member
	b := newBus(log)
	sm := newMachine(b)
	store, err := newObserved(env.Storage, sm, b)
	if err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancel(context.Background())
	m := &Member{opts: opts, env: env, log: log, store: store, sm: sm, bus: b, ctx: mctx, cancel: cancel}
	empty, err := store.empty()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("join: reading the storage: %w", err)
	}
	r, err := m.start(ctx, empty)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("join: %w", err)
	}
	m.cur = r
	go b.run(mctx)
	return m, nil
}

// ID returns the member's id.
func (m *Member) ID() raft.NodeID { return m.opts.ID }

// Room returns the member's room.
func (m *Member) Room() string { return m.opts.Room }

// start dials a transport and starts the node on the member's storage,
// with a new board rebuilt from it. found allows founding a new cluster.
func (m *Member) start(ctx context.Context, found bool) (*run, error) {
	tr, err := m.env.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	var voters []raft.NodeID
	if found {
		if others := roster(ctx, tr); len(others) == 0 {
			voters = []raft.NodeID{m.opts.ID}
			m.log.Info("founding a new cluster: nobody else in the room")
		} else {
			m.log.Info("waiting to be added to the cluster", "others", len(others))
		}
	}
	snap, err := m.store.Snapshot()
	if err != nil {
		_ = tr.Close()
		return nil, fmt.Errorf("reading the snapshot: %w", err)
	}
	m.sm.reset(snap.Meta.Index)
	l := newLink(tr, &m.cut)
	rc := m.env.Raft
	rc.ID, rc.Voters = m.opts.ID, voters
	node, err := peer.Start(m.ctx, peer.Config{
		Raft: rc, Storage: m.store, Transport: l, StateMachine: m.sm,
		TickInterval: m.env.TickInterval, Logger: m.log,
	})
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	if snap.IsEmpty() { // else Restore announced it
		hash := m.sm.Hash()
		m.bus.emit(EventRestored, func() any { return restoredEvent{Index: 0, Hash: hash} })
	}
	hctx, stop := context.WithCancel(m.ctx)
	r := &run{node: node, link: l, tr: tr, started: time.Now(), stop: stop}
	r.helpers.Add(2)
	go func() {
		defer r.helpers.Done()
		m.watch(r)
	}()
	go func() {
		defer r.helpers.Done()
		m.admit(hctx, r)
	}()
	return r, nil
}

// welcomeWait bounds the wait for the room's welcome; settleWait is how
// long an empty room is looked at again after it (see roster).
const (
	welcomeWait = 5 * time.Second
	settleWait  = 50 * time.Millisecond
)

// roster returns the other members in the room once the transport handled
// the room's welcome: rtc.New returns before its goroutine records the
// welcome's member list (Stats().Joins counts the welcomes handled, just
// before their members are added), so an empty Members() right after it
// may be a room not yet seen rather than an empty one.
func roster(ctx context.Context, tr Transport) []raft.NodeID {
	s, ok := tr.(interface{ Stats() rtc.Stats })
	if !ok {
		return tr.Members()
	}
	ctx, cancel := context.WithTimeout(ctx, welcomeWait)
	defer cancel()
	_ = poll(ctx, func() bool { return s.Stats().Joins > 0 })
	if others := tr.Members(); len(others) > 0 {
		return others
	}
	sctx, scancel := context.WithTimeout(ctx, settleWait)
	defer scancel()
	_ = poll(sctx, func() bool { return len(tr.Members()) > 0 })
	return tr.Members()
}

// watch waits for the run's node to stop and reports it.
func (m *Member) watch(r *run) {
	<-r.node.Done()
	r.stop()
	if err := r.node.Err(); err != nil {
		m.log.Error("member stopped", "err", err)
		msg := Message(err)
		m.bus.emit(EventError, func() any { return errorEvent{Message: msg} })
	}
	m.mu.Lock()
	if m.cur == r {
		m.cur = nil
	}
	m.mu.Unlock()
	term := m.store.currentTerm()
	m.bus.emit(EventRole, func() any { return roleEvent{Role: "stopped", Term: term} })
}

// current returns the running node.
func (m *Member) current() (*run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.left:
		return nil, ErrLeft
	case m.cur == nil:
		return nil, peer.ErrStopped
	}
	return m.cur, nil
}

// withDeadline bounds ctx by requestTimeout if it has no deadline.
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, requestTimeout)
}

// retry calls fn until it succeeds, fails with an error other than no
// leader or a dropped proposal (neither appended anything: retrying is
// safe), or ctx ends.
func (m *Member) retry(ctx context.Context, fn func(ctx context.Context, r *run) (any, error)) (any, error) {
	wait := retryBase
	for {
		r, err := m.current()
		if err != nil {
			return nil, err
		}
		v, err := fn(ctx, r)
		if !errors.Is(err, raft.ErrNoLeader) && !errors.Is(err, raft.ErrProposalDropped) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%w)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// Propose replicates op and returns its result once applied here. While no
// leader is known it retries until ctx ends (requestTimeout by default).
func (m *Member) Propose(ctx context.Context, op board.Op) (board.Result, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	cmd := op.Encode()
	v, err := m.retry(ctx, func(ctx context.Context, r *run) (any, error) { return r.node.Propose(ctx, cmd) })
	if err != nil {
		return board.Result{}, err
	}
	res, ok := v.(board.Result)
	if !ok {
		return board.Result{}, fmt.Errorf("unexpected result %T", v)
	}
	return res, nil
}

// ProposeBatch proposes ops together: once a leader is known, each is
// submitted right after the one before it, so that the node takes them into
// as few batches as it can, in order. It returns their results in order, or
// the first error (the others may still have been applied).
func (m *Member) ProposeBatch(ctx context.Context, ops []board.Op) ([]board.Result, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	r, err := m.waitLeader(ctx)
	if err != nil {
		return nil, err
	}
	results := make([]board.Result, len(ops))
	errs := make([]error, len(ops))
	var wg sync.WaitGroup
	prev := make(chan struct{})
	close(prev)
	for i, op := range ops {
		wait, next := prev, make(chan struct{})
		wg.Go(func() {
			<-wait
			// Under GOOS=js nothing preempts this goroutine between the
			// close and the node's queue: the next op is queued after it.
			close(next)
			v, err := r.node.Propose(ctx, op.Encode())
			if err != nil {
				errs[i] = err
				return
			}
			res, ok := v.(board.Result)
			if !ok {
				errs[i] = fmt.Errorf("unexpected result %T", v)
				return
			}
			results[i] = res
		})
		prev = next
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("op %d: %w", i, err)
		}
	}
	return results, nil
}

// waitLeader waits until the running node knows a leader.
func (m *Member) waitLeader(ctx context.Context) (*run, error) {
	wait := retryBase
	for {
		r, err := m.current()
		if err != nil {
			return nil, err
		}
		st, err := r.node.Status(ctx)
		if err != nil {
			return nil, err
		}
		if st.Lead != raft.None {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%w)", raft.ErrNoLeader, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// Read returns the value of key ("" when unset) once every write completed
// before the call is applied here: a linearizable read.
func (m *Member) Read(ctx context.Context, key string) (string, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	v, err := m.retry(ctx, func(ctx context.Context, r *run) (any, error) {
		return r.node.Read(ctx, func() any { return m.sm.Get(key) })
	})
	if err != nil {
		return "", err
	}
	s, _ := v.(string)
	return s, nil
}

// ReadAllJSON returns the whole board, as a JSON object, linearizably.
func (m *Member) ReadAllJSON(ctx context.Context) ([]byte, error) {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	v, err := m.retry(ctx, func(ctx context.Context, r *run) (any, error) {
		return r.node.Read(ctx, func() any { return m.sm.CellsJSON() })
	})
	if err != nil {
		return nil, err
	}
	b, _ := v.([]byte)
	return b, nil
}

// Cells returns the board as this member applied it (not linearizable).
func (m *Member) Cells() map[string]string { return m.sm.Cells() }

// CellsJSON returns Cells as a JSON object.
func (m *Member) CellsJSON() []byte { return m.sm.CellsJSON() }

// On calls fn, from the member's event goroutine and in order, with every
// event of kind (EventRole…) until unsubscribe is called. ok is false for an
// unknown kind.
func (m *Member) On(kind string, fn func(Event)) (unsubscribe func(), ok bool) {
	return m.bus.subscribe(kind, fn)
}

// TransferLeadership hands leadership to the voter to (raft.None: the most
// up-to-date one) and waits until this member sees it done.
func (m *Member) TransferLeadership(ctx context.Context, to raft.NodeID) error {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	r, err := m.waitLeader(ctx)
	if err != nil {
		return err
	}
	before, err := r.node.Status(ctx)
	if err != nil {
		return err
	}
	if before.Lead == to {
		return nil
	}
	if err := r.node.TransferLeadership(ctx, to); err != nil {
		return err
	}
	// Done when the leader this member knows is the target, or (no target)
	// any voter but the one that led before.
	wait := retryBase
	for {
		st, err := r.node.Status(ctx)
		if err != nil {
			return err
		}
		if st.Lead != raft.None && (st.Lead == to || to == raft.None && st.Lead != before.Lead) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("leadership not transferred: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// Disconnect cuts the member off: every Raft message to or from it is
// dropped until Reconnect (the signaling connection stays up).
func (m *Member) Disconnect() {
	if !m.cut.Swap(true) {
		m.log.Info("disconnected: dropping every message")
	}
}

// Reconnect undoes Disconnect.
func (m *Member) Reconnect() {
	if m.cut.Swap(false) {
		m.log.Info("reconnected")
	}
}

// Disconnected reports whether the member is cut off.
func (m *Member) Disconnected() bool { return m.cut.Load() }

// begin marks the start of a stop, restart or leave.
func (m *Member) begin() (*run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.left:
		return nil, ErrLeft
	case m.busy:
		return nil, ErrBusy
	}
	m.busy = true
	return m.cur, nil
}

func (m *Member) end() {
	m.mu.Lock()
	m.busy = false
	m.mu.Unlock()
}

// halt stops a run and waits for its helpers, keeping its last status.
func (m *Member) halt(ctx context.Context, r *run) {
	if st, err := m.runStatus(ctx, r); err == nil {
		m.mu.Lock()
		m.last = st
		m.mu.Unlock()
	}
	r.stop()
	r.node.Stop()
	r.helpers.Wait()
	m.mu.Lock()
	if m.cur == r {
		m.cur = nil
	}
	m.mu.Unlock()
}

// Stop stops the member, keeping its storage. Stopping a stopped member
// does nothing.
func (m *Member) Stop(ctx context.Context) error {
	r, err := m.begin()
	if err != nil {
		return err
	}
	defer m.end()
	if r != nil {
		m.halt(ctx, r)
		m.log.Info("stopped")
	}
	return nil
}

// Restart starts the member again on its storage, with a new transport
// and a board rebuilt from the storage. A running member is stopped first.
func (m *Member) Restart(ctx context.Context) error {
	r, err := m.begin()
	if err != nil {
		return err
	}
	defer m.end()
	if r != nil {
		m.halt(ctx, r)
	}
	r, err = m.start(ctx, false)
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	m.mu.Lock()
	m.cur = r
	m.mu.Unlock()
	m.log.Info("restarted")
	return nil
}

// Leave leaves the cluster for good: a leader hands leadership over, the
// member asks the leader to remove it and waits (briefly) to see it done,
// then stops and closes its storage. Each step is best effort within ctx:
// a member that cannot reach the others still stops.
func (m *Member) Leave(ctx context.Context) error {
	m.mu.Lock()
	if m.left {
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	r, err := m.begin()
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.left = true // refuse every other request from now on
	m.mu.Unlock()
	defer m.end()
	if r != nil {
		m.leaveCluster(ctx, r)
		m.halt(ctx, r)
	}
	var errs []error
	if err := m.store.close(); err != nil {
		errs = append(errs, fmt.Errorf("closing the storage: %w", err))
	}
	m.cancel()
	if m.env.OnLeft != nil {
		m.env.OnLeft()
	}
	m.log.Info("left the cluster")
	return errors.Join(errs...)
}

// leaveCluster hands leadership over if leading, then has the member
// removed from the configuration.
func (m *Member) leaveCluster(ctx context.Context, r *run) {
	self := m.opts.ID
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, leaveStep) }
	sctx, cancel := step()
	defer cancel()
	if st, err := r.node.Status(sctx); err == nil && st.Role == raft.Leader {
		if err := r.node.TransferLeadership(sctx, raft.None); err != nil {
			m.log.Warn("leave: leadership not handed over", "err", err)
		}
		_ = poll(sctx, func() bool {
			st, err := r.node.Status(sctx)
			return err != nil || st.Lead != self && st.Lead != raft.None
		})
	}
	rctx, cancel2 := step()
	defer cancel2()
	removed := func() bool {
		cs, err := r.node.Members(rctx)
		return err != nil || !isMember(cs, self)
	}
	if removed() {
		return
	}
	if cs, err := r.node.Members(rctx); err == nil && len(cs.Voters) == 1 && cs.Voters[0] == self && len(cs.VotersOutgoing) == 0 {
		return // the last voter: nobody to hand the cluster to
	}
	cc := raft.ConfChange{Changes: []raft.ConfChangeSingle{{Type: raft.RemoveMember, Node: self}}}
	var cerr error
	err := poll(rctx, func() bool {
		cerr = r.node.ChangeMembers(rctx, cc)
		return cerr == nil || !errors.Is(cerr, raft.ErrNoLeader) && !errors.Is(cerr, raft.ErrConfChangePending) &&
			!errors.Is(cerr, raft.ErrProposalDropped)
	})
	switch {
	case err == nil && cerr != nil:
		m.log.Warn("leave: removal refused", "err", cerr)
	case err == nil:
		if err := poll(rctx, removed); err != nil {
			m.log.Warn("leave: removal not seen", "err", err)
		}
	default:
		m.log.Warn("leave: removal not proposed", "err", fmt.Errorf("%w (last: %w)", err, cerr))
	}
}

// poll calls cond until it holds or ctx ends.
func poll(ctx context.Context, cond func() bool) error {
	wait := retryBase
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
	return nil
}

// RecoverAlone would start a new cluster of this member alone; the peer
// package does not offer it yet.
func (m *Member) RecoverAlone(context.Context) error { return ErrNotSupported }

func isMember(cs raft.ConfState, id raft.NodeID) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.Learners, id) ||
		slices.Contains(cs.VotersOutgoing, id)
}
