// Package rafttest runs an in-process cluster of tabraft cores for tests
// and benchmarks: one goroutine per member driving its raft.Node (real
// ticks, Ready handled as the core requires), memory storage, and a
// transport of Go channels between the member goroutines. It also holds a
// closed-loop load generator (see Run) so that every benchmark measures
// writes the same way.
//
// It uses the standard library only, like the core.
package rafttest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// RequestIDSize is the number of leading bytes of a proposal that Propose
// overwrites with the request id by which the applying member finds the
// waiting caller.
const RequestIDSize = 8

// Options configures a Cluster. The zero value is a 3-member cluster ticking
// every 10 ms.
type Options struct {
	// Size is the number of members (ids 1..Size). Default 3.
	Size int
	// TickInterval is the wall-clock time between two Ticks. Default 10 ms.
	TickInterval time.Duration
	// InboxSize is the buffer of each member's incoming message channel; a
	// message that finds it full is dropped and reported unreachable, as a
	// real transport would. Default 4096.
	InboxSize int
	// Config, if set, adjusts each member's raft.Config before NewNode
	// (the compaction policy among the rest).
	Config func(*raft.Config)
	// OnApply, if set, is called by each member's goroutine for every
	// committed entry it applies, in log order.
	OnApply func(member raft.NodeID, e raft.Entry)
	// Snapshot, if set, returns a member's state machine image for a
	// compaction (called from its goroutine); by default images are empty.
	// Members compact whenever the core's policy asks (Node.ShouldCompact).
	Snapshot func(member raft.NodeID) []byte
	// OnSnapshot, if set, is called when a member installs a snapshot it
	// received: its state machine must be replaced by the image (entries
	// it covers are not passed to OnApply).
	OnSnapshot func(member raft.NodeID, s raft.Snapshot)
}

var (
	// ErrStopped is returned by calls made on a stopped Cluster.
	ErrStopped = errors.New("rafttest: cluster stopped")
	// ErrLeadershipLost is returned for a write proposed to a leader that
	// lost its leadership before applying it: the write may or may not
	// commit later.
	ErrLeadershipLost = errors.New("rafttest: leadership lost before the write was applied")
)

// Cluster is a running in-process cluster. Its methods are safe for
// concurrent use.
type Cluster struct {
	opts    Options
	members []*member // members[i] has id i+1
	nextID  atomic.Uint64
	dropped atomic.Uint64

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	mu      sync.Mutex
	err     error         // first fatal error of a member goroutine
	changed chan struct{} // closed and replaced whenever a member's role changes
}

// proposal is a write on its way to a member's goroutine.
type proposal struct {
	id   uint64
	data []byte
	done chan error // buffered: the member never blocks on it
}

// member is one node and everything only its goroutine touches.
type member struct {
	id    raft.NodeID
	node  *raft.Node
	store *raft.MemoryStorage
	inbox chan raft.Message
	props chan proposal
	ctrl  chan func(*raft.Node)

	soft atomic.Pointer[raft.SoftState] // last SoftState, for Leader

	// Owned by the member goroutine.
	pending     map[uint64]chan error
	batch       [][]byte
	batchProps  []proposal
	unreachable []raft.NodeID
}

// maxDrain bounds how many queued inputs a member takes before it handles
// the next Ready, so one busy channel cannot starve the others.
const maxDrain = 4096

// New starts a cluster. Call Stop when done with it.
func New(opts Options) (*Cluster, error) {
	if opts.Size == 0 {
		opts.Size = 3
	}
	if opts.TickInterval == 0 {
		opts.TickInterval = 10 * time.Millisecond
	}
	if opts.InboxSize == 0 {
		opts.InboxSize = 4096
	}
	if opts.Size < 1 || opts.TickInterval < 0 || opts.InboxSize < 1 {
		return nil, fmt.Errorf("rafttest: invalid options %+v", opts)
	}
	c := &Cluster{opts: opts, stop: make(chan struct{}), changed: make(chan struct{})}
	voters := make([]raft.NodeID, opts.Size)
	for i := range voters {
		voters[i] = raft.NodeID(i + 1)
	}
	for _, id := range voters {
		store := raft.NewMemoryStorage()
		cfg := &raft.Config{ID: id, Voters: voters, Storage: store}
		if opts.Config != nil {
			opts.Config(cfg)
		}
		nd, err := raft.NewNode(cfg)
		if err != nil {
			return nil, fmt.Errorf("rafttest: member %d: %w", id, err)
		}
		m := &member{
			id: id, node: nd, store: store,
			inbox:   make(chan raft.Message, opts.InboxSize),
			props:   make(chan proposal, opts.InboxSize),
			ctrl:    make(chan func(*raft.Node)),
			pending: make(map[uint64]chan error),
		}
		m.soft.Store(&raft.SoftState{Role: raft.Follower})
		c.members = append(c.members, m)
	}
	for _, m := range c.members {
		c.wg.Add(1)
		go c.run(m)
	}
	return c, nil
}

// Stop ends every member goroutine and returns the first error one of them
// met, if any. It is idempotent.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { close(c.stop) })
	c.wg.Wait()
	return c.Err()
}

// Err returns the first fatal error a member goroutine met (after which
// that member stopped), or nil.
func (c *Cluster) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Dropped returns how many messages were lost because an inbox was full.
func (c *Cluster) Dropped() uint64 { return c.dropped.Load() }

func (c *Cluster) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

func (c *Cluster) member(id raft.NodeID) (*member, error) {
	if id < 1 || int(id) > len(c.members) {
		return nil, fmt.Errorf("rafttest: no member %d", id)
	}
	return c.members[id-1], nil
}

// Campaign makes member id start an election now.
func (c *Cluster) Campaign(ctx context.Context, id raft.NodeID) error {
	var err error
	if cerr := c.Do(ctx, id, func(n *raft.Node) { err = n.Campaign() }); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("rafttest: campaign on %d: %w", id, err)
	}
	return nil
}

// Do runs f on member id's goroutine (between two Readies) and waits for it.
func (c *Cluster) Do(ctx context.Context, id raft.NodeID, f func(*raft.Node)) error {
	m, err := c.member(id)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	select {
	case m.ctrl <- func(n *raft.Node) { f(n); close(done) }:
	case <-ctx.Done():
		return fmt.Errorf("rafttest: do on %d: %w", id, ctx.Err())
	case <-c.stop:
		return ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rafttest: do on %d: %w", id, ctx.Err())
	case <-c.stop:
		return ErrStopped
	}
}

// Leader returns a member that currently believes it leads (after a change
// of leader two may briefly do so, in different terms), or raft.None.
func (c *Cluster) Leader() raft.NodeID {
	for _, m := range c.members {
		if s := m.soft.Load(); s.Role == raft.Leader {
			return m.id
		}
	}
	return raft.None
}

// WaitLeader blocks until some member is leader and every member knows it,
// and returns its id.
func (c *Cluster) WaitLeader(ctx context.Context) (raft.NodeID, error) {
	for {
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		if lead := c.Leader(); lead != raft.None && c.allFollow(lead) {
			return lead, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return raft.None, fmt.Errorf("rafttest: waiting for a leader: %w", ctx.Err())
		case <-c.stop:
			return raft.None, ErrStopped
		}
	}
}

func (c *Cluster) allFollow(lead raft.NodeID) bool {
	for _, m := range c.members {
		if m.soft.Load().Lead != lead {
			return false
		}
	}
	return true
}

// Propose submits data through member to and returns once that member has
// applied it, or when ctx ends. If to leads and loses its leadership first,
// Propose fails with ErrLeadershipLost (the write may still commit); a write
// a follower forwarded and the leader lost is only ended by ctx. Propose takes ownership of data (the log
// keeps it) and overwrites its first RequestIDSize bytes with a request id.
func (c *Cluster) Propose(ctx context.Context, to raft.NodeID, data []byte) error {
	if len(data) < RequestIDSize {
		return fmt.Errorf("rafttest: proposal of %d bytes is shorter than its %d-byte request id", len(data), RequestIDSize)
	}
	m, err := c.member(to)
	if err != nil {
		return err
	}
	id := c.nextID.Add(1)
	binary.LittleEndian.PutUint64(data, id)
	p := proposal{id: id, data: data, done: make(chan error, 1)}
	select {
	case m.props <- p:
	case <-ctx.Done():
		return fmt.Errorf("rafttest: propose: %w", ctx.Err())
	case <-c.stop:
		return ErrStopped
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("rafttest: propose: %w", ctx.Err())
	case <-c.stop:
		return ErrStopped
	}
}

// run is a member's loop: take inputs (a tick, messages, proposals), then
// handle Readies until there are none.
func (c *Cluster) run(m *member) {
	defer c.wg.Done()
	ticker := time.NewTicker(c.opts.TickInterval)
	defer ticker.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-ticker.C:
			m.node.Tick()
		case f := <-m.ctrl:
			f(m.node)
		case msg := <-m.inbox:
			m.step(msg)
		case p := <-m.props:
			m.addProposal(p)
		}
		m.drain()
		for m.node.HasReady() {
			if err := c.handleReady(m); err != nil {
				c.fail(fmt.Errorf("rafttest: member %d: %w", m.id, err))
				return
			}
		}
		if err := c.maybeCompact(m); err != nil {
			c.fail(fmt.Errorf("rafttest: member %d: %w", m.id, err))
			return
		}
	}
}

// maybeCompact takes a snapshot and compacts the log when the core's
// policy asks for it, as a long-running host must.
func (c *Cluster) maybeCompact(m *member) error {
	if !m.node.ShouldCompact() {
		return nil
	}
	var data []byte
	if c.opts.Snapshot != nil {
		data = c.opts.Snapshot(m.id)
	}
	snap, err := m.node.Compact(data)
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	if err := m.store.Compact(snap); err != nil {
		return fmt.Errorf("compact storage: %w", err)
	}
	return nil
}

// step hands a received message to the core. A refused message is what a
// real member would log and drop.
func (m *member) step(msg raft.Message) { _ = m.node.Step(msg) }

func (m *member) addProposal(p proposal) {
	m.batch = append(m.batch, p.data)
	m.batchProps = append(m.batchProps, p)
}

// drain takes what is already queued without blocking, so that every
// pending proposal goes into one ProposeBatch and every pending message is
// stepped before the next Ready.
func (m *member) drain() {
	for range maxDrain {
		select {
		case msg := <-m.inbox:
			m.step(msg)
		case p := <-m.props:
			m.addProposal(p)
		default:
			m.flushProposals()
			return
		}
	}
	m.flushProposals()
}

func (m *member) flushProposals() {
	if len(m.batch) == 0 {
		return
	}
	if err := m.node.ProposeBatch(m.batch); err != nil {
		err = fmt.Errorf("rafttest: member %d: propose: %w", m.id, err)
		for _, p := range m.batchProps {
			p.done <- err
		}
	} else {
		for _, p := range m.batchProps {
			m.pending[p.id] = p.done
		}
	}
	clear(m.batch)
	clear(m.batchProps)
	m.batch, m.batchProps = m.batch[:0], m.batchProps[:0]
}

// handleReady handles one Ready in the order the core requires: persist,
// send, apply, advance.
func (c *Cluster) handleReady(m *member) error {
	rd := m.node.Ready()
	if err := m.store.Save(&rd); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	for _, msg := range rd.Messages {
		c.send(m, msg)
	}
	if !rd.Snapshot.IsEmpty() && c.opts.OnSnapshot != nil {
		c.opts.OnSnapshot(m.id, rd.Snapshot)
	}
	for _, e := range rd.CommittedEntries {
		if c.opts.OnApply != nil {
			c.opts.OnApply(m.id, e)
		}
		if e.Type != raft.EntryNormal || len(e.Data) < RequestIDSize {
			continue
		}
		id := binary.LittleEndian.Uint64(e.Data)
		if done, ok := m.pending[id]; ok {
			delete(m.pending, id)
			done <- nil
		}
	}
	if rd.SoftState != nil {
		ss := *rd.SoftState
		if prev := m.soft.Load(); prev.Role == raft.Leader && ss.Role != raft.Leader {
			// What this member accepted as leader may never commit: answer
			// now rather than leave the callers waiting for ever.
			for id, done := range m.pending {
				delete(m.pending, id)
				done <- fmt.Errorf("member %d: %w", m.id, ErrLeadershipLost)
			}
		}
		m.soft.Store(&ss)
		c.mu.Lock()
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
	m.node.Advance()
	for _, id := range m.unreachable {
		m.node.ReportUnreachable(id)
	}
	m.unreachable = m.unreachable[:0]
	return nil
}

// send delivers msg to its addressee's inbox without blocking. The message
// is shared with the receiving goroutine as is: the core never overwrites
// the entries a handed-out Ready refers to, and entry data is immutable.
func (c *Cluster) send(from *member, msg raft.Message) {
	to, err := c.member(msg.To)
	if err != nil {
		return
	}
	select {
	case to.inbox <- msg:
	default:
		c.dropped.Add(1)
		from.unreachable = append(from.unreachable, msg.To)
	}
}
