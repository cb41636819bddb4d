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
	"github.com/tabraft/tabraft/peer/autopilot"
	"github.com/tabraft/tabraft/peer/board"
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
	helpers sync.WaitGroup // the watcher
}

// Timing of the member's waits.
const (
	retryBase      = 20 * time.Millisecond  // first wait before retrying a request without a leader
	retryMax       = 250 * time.Millisecond // longest wait between retries
	requestTimeout = 5 * time.Second        // bound of a request whose context has none
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
		others := tr.Members() // complete once Dial returns
		if voters, err = peer.FoundingVoters(m.store, m.opts.ID, others); err != nil {
			_ = tr.Close()
			return nil, err
		}
		if len(voters) > 0 {
			m.log.Info("founding a new cluster: nobody else in the room")
		} else if len(others) > 0 {
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
		Autopilot: &autopilot.Config{TargetVoters: m.opts.TargetVoters, DeadTimeout: m.opts.DeadTimeout},
	})
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	if snap.IsEmpty() { // else Restore announced it
		hash := m.sm.Hash()
		m.bus.emit(EventRestored, func() any { return restoredEvent{Index: 0, Hash: hash} })
	}
	r := &run{node: node, link: l, tr: tr, started: time.Now()}
	r.helpers.Add(1)
	go func() {
		defer r.helpers.Done()
		m.watch(r)
	}()
	return r, nil
}

// watch waits for the run's node to stop and reports it.
func (m *Member) watch(r *run) {
	<-r.node.Done()
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

// ProposeBatch proposes ops together, as one batch of the node, and
// returns their results in order, or the first error (the others may still
// have been applied). While no leader is known it retries until ctx ends
// (a batch refused for want of a leader was refused whole).
func (m *Member) ProposeBatch(ctx context.Context, ops []board.Op) ([]board.Result, error) {
	cmds := make([][]byte, len(ops))
	for i, op := range ops {
		cmds[i] = op.Encode()
	}
	return m.proposeCommands(ctx, cmds)
}

// proposeCommands is ProposeBatch with the ops already encoded (ParseBatch).
func (m *Member) proposeCommands(ctx context.Context, cmds [][]byte) ([]board.Result, error) {
	if len(cmds) == 0 {
		return nil, nil
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	v, err := m.retry(ctx, func(ctx context.Context, r *run) (any, error) { return r.node.ProposeBatch(ctx, cmds) })
	if err != nil {
		return nil, err
	}
	vals, _ := v.([]any)
	if len(vals) != len(cmds) {
		return nil, fmt.Errorf("%d results for %d ops", len(vals), len(cmds))
	}
	results := make([]board.Result, len(cmds))
	for i, v := range vals {
		res, ok := v.(board.Result)
		if !ok {
			return nil, fmt.Errorf("op %d: unexpected result %T", i, v)
		}
		results[i] = res
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
	if err := m.relaunch(ctx, "restart", nil); err != nil {
		return err
	}
	m.log.Info("restarted")
	return nil
}

// relaunch stops the running member (if any), runs between on its stopped
// storage, and starts it again: what Restart and RecoverAlone share. A
// failure to start again is wrapped with what.
func (m *Member) relaunch(ctx context.Context, what string, between func() error) error {
	r, err := m.begin()
	if err != nil {
		return err
	}
	defer m.end()
	if r != nil {
		m.halt(ctx, r)
	}
	if between != nil {
		if err := between(); err != nil {
			return err
		}
	}
	r, err = m.start(ctx, false)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	m.mu.Lock()
	m.cur = r
	m.mu.Unlock()
	return nil
}

// Leave leaves the cluster for good (peer.Node.Leave): a leader makes sure
// another voter exists and hands leadership over, then the member asks to be
// removed and stops once it applied its removal, or when ctx ends (the
// leader's autopilot then removes it after its dead timeout). The storage is
// closed. A stopped member just closes its storage.
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
	var errs []error
	if r != nil {
		if st, err := m.runStatus(ctx, r); err == nil {
			m.mu.Lock()
			m.last = st
			m.mu.Unlock()
		}
		if err := r.node.Leave(ctx); err != nil && !errors.Is(err, peer.ErrStopped) {
			m.log.Warn("leave: removal not confirmed", "err", err)
			errs = append(errs, err)
		}
		m.halt(ctx, r)
	}
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

// RecoverAlone starts a new cluster of this member alone from its own
// copy of the log (peer.RecoverAlone), for when every other voter is gone
// for good: the member stops, its storage is rewritten into a configuration
// of itself only, keeping every entry it had, and it starts again (and the
// autopilot adds whoever is present). Writes that never reached it are
// lost; members of the old cluster must not come back with their logs.
// Never automatic.
func (m *Member) RecoverAlone(ctx context.Context) error {
	return m.relaunch(ctx, "recover alone: restarting", func() error {
		meta, err := peer.RecoverAlone(m.store, board.New(), m.opts.ID)
		if err != nil {
			return fmt.Errorf("recover alone: %w", err)
		}
		m.log.Warn("recovered alone: a new cluster of this member only", "index", meta.Index, "term", meta.Term)
		return nil
	})
}

func isMember(cs raft.ConfState, id raft.NodeID) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.Learners, id) ||
		slices.Contains(cs.VotersOutgoing, id)
}
