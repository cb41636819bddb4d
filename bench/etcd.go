package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// The etcd driver is structurally the same as tabraft's (raft/rafttest):
// one goroutine per member, a 10 ms ticker, buffered channels as the
// network, every queued input drained before the next Ready, one
// Step(MsgProp) carrying every drained proposal, and each Ready handled as
// persist → send → apply → advance. Its configuration matches tabraft's
// defaults: heartbeat every 5 ticks, election timeout from [15, 30) ticks,
// pre-vote and check-quorum on, 64 KiB per MsgApp, 256 MsgApps or 8 MiB in
// flight, 16 MiB of committed entries per Ready.

const (
	etcdInbox    = 4096
	etcdMaxDrain = 4096
)

// etcdConfig is a member's configuration, matching tabraft's defaults
// (the inflight window too: a small one batches better, for both).
func etcdConfig(id uint64, store *raft.MemoryStorage, logger raft.Logger) *raft.Config {
	return &raft.Config{
		ID:                       id,
		ElectionTick:             15,
		HeartbeatTick:            5,
		Storage:                  store,
		MaxSizePerMsg:            64 << 10,
		MaxInflightMsgs:          4,
		MaxInflightBytes:         8 << 20,
		MaxCommittedSizePerReady: 16 << 20,
		CheckQuorum:              true,
		PreVote:                  true,
		Logger:                   logger,
	}
}

// etcdPersist stores what rd asks to persist, snapshot first.
func etcdPersist(store *raft.MemoryStorage, rd *raft.Ready) error {
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := store.ApplySnapshot(rd.Snapshot); err != nil {
			return fmt.Errorf("apply snapshot: %w", err)
		}
	}
	if err := store.Append(rd.Entries); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := store.SetHardState(rd.HardState); err != nil {
			return fmt.Errorf("set hard state: %w", err)
		}
	}
	return nil
}

// The compaction policy of tabraft's defaults: a snapshot every 10,000
// applied entries, keeping 1,000 entries behind it for followers.
const (
	snapshotEntries       = 10000
	compactionKeepEntries = 1000
)

// etcdCompactor applies the compaction policy to one etcd member, as the
// host must (etcd's core leaves it to the application).
type etcdCompactor struct {
	applied, snapIndex uint64
	confState          raftpb.ConfState
}

// observe records what a handled Ready applied or installed.
func (c *etcdCompactor) observe(rd *raft.Ready) {
	if !raft.IsEmptySnap(rd.Snapshot) {
		c.applied, c.snapIndex = rd.Snapshot.Metadata.Index, rd.Snapshot.Metadata.Index
		c.confState = rd.Snapshot.Metadata.ConfState
	}
	if n := len(rd.CommittedEntries); n > 0 {
		c.applied = rd.CommittedEntries[n-1].Index
	}
}

// maybeCompact snapshots (an empty image: the benchmark's state machine
// only counts) and compacts store when the policy asks for it.
func (c *etcdCompactor) maybeCompact(store *raft.MemoryStorage) error {
	if c.applied < c.snapIndex+snapshotEntries {
		return nil
	}
	if _, err := store.CreateSnapshot(c.applied, &c.confState, nil); err != nil {
		return fmt.Errorf("create snapshot: %w", err)
	}
	if c.applied > compactionKeepEntries {
		if err := store.Compact(c.applied - compactionKeepEntries); err != nil && !errors.Is(err, raft.ErrCompacted) {
			return fmt.Errorf("compact: %w", err)
		}
	}
	c.snapIndex = c.applied
	return nil
}

type etcdProposal struct {
	id   uint64
	data []byte
	done chan error
}

type etcdMember struct {
	id    uint64
	node  *raft.RawNode
	store *raft.MemoryStorage
	inbox chan raftpb.Message
	props chan etcdProposal
	ctrl  chan func(*raft.RawNode)
	soft  atomic.Pointer[raft.SoftState]

	// Owned by the member goroutine.
	compactor   etcdCompactor
	pending     map[uint64]chan error
	batch       []raftpb.Entry
	batchProps  []etcdProposal
	unreachable []uint64
}

type etcdCluster struct {
	members []*etcdMember // members[i] has id i+1
	lead    *etcdMember
	nextID  atomic.Uint64
	dropped atomic.Uint64

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	mu      sync.Mutex
	err     error
	changed chan struct{}
}

func startEtcd(ctx context.Context) (Cluster, error) {
	const size = 3
	c := &etcdCluster{stop: make(chan struct{}), changed: make(chan struct{})}
	voters := make([]uint64, size)
	for i := range voters {
		voters[i] = uint64(i + 1)
	}
	quiet := &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}
	for _, id := range voters {
		store := raft.NewMemoryStorage()
		// The recommended bootstrap: a storage whose initial state holds
		// the configuration (first index 2).
		if err := store.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{
			Index: 1, Term: 1, ConfState: raftpb.ConfState{Voters: voters},
		}}); err != nil {
			return nil, fmt.Errorf("etcd: bootstrap member %d: %w", id, err)
		}
		rn, err := raft.NewRawNode(etcdConfig(id, store, quiet))
		if err != nil {
			return nil, fmt.Errorf("etcd: member %d: %w", id, err)
		}
		m := &etcdMember{
			id: id, node: rn, store: store,
			inbox:   make(chan raftpb.Message, etcdInbox),
			props:   make(chan etcdProposal, etcdInbox),
			ctrl:    make(chan func(*raft.RawNode)),
			pending: make(map[uint64]chan error),
		}
		m.compactor = etcdCompactor{applied: 1, snapIndex: 1, confState: raftpb.ConfState{Voters: voters}}
		m.soft.Store(&raft.SoftState{RaftState: raft.StateFollower})
		c.members = append(c.members, m)
	}
	for _, m := range c.members {
		c.wg.Add(1)
		go c.run(m)
	}
	if err := c.campaign(ctx, c.members[0]); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	lead, err := c.waitLeader(ctx)
	if err != nil {
		return nil, errors.Join(err, c.Close())
	}
	c.lead = lead
	return c, nil
}

func (c *etcdCluster) Close() error {
	c.stopOnce.Do(func() { close(c.stop) })
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && c.dropped.Load() > 0 {
		return fmt.Errorf("etcd: %d messages dropped by full inboxes", c.dropped.Load())
	}
	return c.err
}

func (c *etcdCluster) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

func (c *etcdCluster) campaign(ctx context.Context, m *etcdMember) error {
	errc := make(chan error, 1)
	select {
	case m.ctrl <- func(rn *raft.RawNode) { errc <- rn.Campaign() }:
	case <-ctx.Done():
		return fmt.Errorf("etcd: campaign: %w", ctx.Err())
	}
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("etcd: campaign: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("etcd: campaign: %w", ctx.Err())
	}
}

// waitLeader blocks until a member leads and every member follows it.
func (c *etcdCluster) waitLeader(ctx context.Context) (*etcdMember, error) {
	for {
		c.mu.Lock()
		changed := c.changed
		c.mu.Unlock()
		var lead *etcdMember
		for _, m := range c.members {
			if m.soft.Load().RaftState == raft.StateLeader {
				lead = m
			}
		}
		if lead != nil {
			all := true
			for _, m := range c.members {
				all = all && m.soft.Load().Lead == lead.id
			}
			if all {
				return lead, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("etcd: waiting for a leader: %w", ctx.Err())
		}
	}
}

func (c *etcdCluster) Write(ctx context.Context, data []byte) error {
	id := c.nextID.Add(1)
	binary.LittleEndian.PutUint64(data, id)
	p := etcdProposal{id: id, data: data, done: make(chan error, 1)}
	select {
	case c.lead.props <- p:
	case <-ctx.Done():
		return fmt.Errorf("etcd: write: %w", ctx.Err())
	case <-c.stop:
		return errors.New("etcd: cluster stopped")
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("etcd: write: %w", ctx.Err())
	case <-c.stop:
		return errors.New("etcd: cluster stopped")
	}
}

func (c *etcdCluster) run(m *etcdMember) {
	defer c.wg.Done()
	ticker := time.NewTicker(10 * time.Millisecond)
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
				c.fail(fmt.Errorf("etcd: member %d: %w", m.id, err))
				return
			}
		}
		if err := m.compactor.maybeCompact(m.store); err != nil {
			c.fail(fmt.Errorf("etcd: member %d: %w", m.id, err))
			return
		}
	}
}

func (m *etcdMember) step(msg raftpb.Message) { _ = m.node.Step(msg) }

func (m *etcdMember) addProposal(p etcdProposal) {
	m.batch = append(m.batch, raftpb.Entry{Data: p.data})
	m.batchProps = append(m.batchProps, p)
}

func (m *etcdMember) drain() {
	for range etcdMaxDrain {
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

// flushProposals steps one MsgProp with every drained entry: the most
// batching etcd's API allows.
func (m *etcdMember) flushProposals() {
	if len(m.batch) == 0 {
		return
	}
	// etcd may keep the slice it is given (a follower forwards the message
	// as is), so hand it a fresh one, as tabraft's ProposeBatch makes one.
	ents := make([]raftpb.Entry, len(m.batch))
	copy(ents, m.batch)
	if err := m.node.Step(raftpb.Message{Type: raftpb.MsgProp, From: m.id, Entries: ents}); err != nil {
		err = fmt.Errorf("etcd: member %d: propose: %w", m.id, err)
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

func (c *etcdCluster) handleReady(m *etcdMember) error {
	rd := m.node.Ready()
	if err := etcdPersist(m.store, &rd); err != nil {
		return err
	}
	// etcd copies its log on overwrite, so entries in flight need no copy.
	for _, msg := range rd.Messages {
		c.send(m, msg)
	}
	for _, e := range rd.CommittedEntries {
		if e.Type != raftpb.EntryNormal || len(e.Data) < 8 {
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
		if prev := m.soft.Load(); prev.RaftState == raft.StateLeader && ss.RaftState != raft.StateLeader {
			for id, done := range m.pending {
				delete(m.pending, id)
				done <- fmt.Errorf("etcd: member %d: leadership lost before the write was applied", m.id)
			}
		}
		m.soft.Store(&ss)
		c.mu.Lock()
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
	m.node.Advance(rd)
	m.compactor.observe(&rd)
	for _, id := range m.unreachable {
		m.node.ReportUnreachable(id)
	}
	m.unreachable = m.unreachable[:0]
	return nil
}

func (c *etcdCluster) send(from *etcdMember, msg raftpb.Message) {
	if msg.To < 1 || msg.To > uint64(len(c.members)) {
		return
	}
	select {
	case c.members[msg.To-1].inbox <- msg:
	default:
		c.dropped.Add(1)
		from.unreachable = append(from.unreachable, msg.To)
	}
}
