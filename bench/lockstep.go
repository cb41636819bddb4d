package bench

import (
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	etcdraft "go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/raft/rafttest"
)

// Lockstep is a 3-member cluster driven from one goroutine: no channels,
// no clock, no scheduler, so it measures the consensus core and its memory
// storage alone. Each Pump handles every member's Readies (persist, send,
// apply, advance) and delivers the messages they produced, until quiet.
type Lockstep interface {
	// Propose hands the leader one batch of writes (one proposal step).
	Propose(batch [][]byte) error
	// Pump runs the cluster until quiet and returns how many writes the
	// leader applied meanwhile.
	Pump() (int, error)
}

// LockstepImpl names a Lockstep constructor.
type LockstepImpl struct {
	Name string
	New  func() (Lockstep, error)
}

// LockstepImpls returns the lockstep variants of Impls (hashicorp/raft
// cannot be driven this way: it runs its own goroutines).
func LockstepImpls() []LockstepImpl {
	return []LockstepImpl{
		{Name: "tabraft", New: newTabraftLockstep},
		{Name: "etcd", New: newEtcdLockstep},
	}
}

// DriveLockstep proposes batches of batch fresh PayloadSize-byte writes to
// l, pumping each until the leader applied it: exactly total writes when
// total is positive, otherwise batches until deadline. It returns the
// number of writes done.
func DriveLockstep(l Lockstep, batch, total int, deadline time.Time) (int, error) {
	if batch < 1 {
		return 0, fmt.Errorf("bench: lockstep batch %d", batch)
	}
	buf := make([][]byte, 0, batch)
	done := 0
	for {
		n := batch
		if total > 0 {
			n = min(batch, total-done)
		}
		if n <= 0 || (total <= 0 && !time.Now().Before(deadline)) {
			return done, nil
		}
		buf = buf[:0]
		for range n {
			buf = append(buf, make([]byte, PayloadSize))
		}
		if err := l.Propose(buf); err != nil {
			return done, err
		}
		applied, err := l.Pump()
		if err != nil {
			return done, err
		}
		if applied != n {
			return done, fmt.Errorf("bench: leader applied %d writes, want %d", applied, n)
		}
		done += n
	}
}

// MeasureLockstep starts a lockstep cluster of impl and drives it with
// batches of batch writes for duration. Only throughput and CPU time are
// measured (a batch is one step, not a client's wait).
func MeasureLockstep(impl LockstepImpl, batch int, duration time.Duration) (Measurement, error) {
	l, err := impl.New()
	if err != nil {
		return Measurement{}, err
	}
	start, cpu0 := time.Now(), processCPU()
	n, err := DriveLockstep(l, batch, 0, start.Add(duration))
	if err != nil {
		return Measurement{}, fmt.Errorf("bench: %s lockstep: %w", impl.Name, err)
	}
	return Measurement{Result: rafttest.Result{Ops: n, Elapsed: time.Since(start)}, CPU: processCPU() - cpu0}, nil
}

// maxPumpRounds bounds a Pump: a healthy cluster goes quiet in a few rounds.
const maxPumpRounds = 10000

type tabraftLockstep struct {
	nodes  []*raft.Node
	stores []*raft.MemoryStorage
	lead   int
	queue  []raft.Message
}

func newTabraftLockstep() (Lockstep, error) {
	l := &tabraftLockstep{}
	voters := []raft.NodeID{1, 2, 3}
	for _, id := range voters {
		store := raft.NewMemoryStorage()
		n, err := raft.NewNode(&raft.Config{ID: id, Voters: voters, Storage: store})
		if err != nil {
			return nil, fmt.Errorf("tabraft: member %d: %w", id, err)
		}
		l.nodes, l.stores = append(l.nodes, n), append(l.stores, store)
	}
	if err := l.nodes[0].Campaign(); err != nil {
		return nil, fmt.Errorf("tabraft: campaign: %w", err)
	}
	if _, err := l.Pump(); err != nil {
		return nil, err
	}
	if l.nodes[0].Status().Role != raft.Leader {
		return nil, errors.New("tabraft: member 1 did not win its election")
	}
	return l, nil
}

func (l *tabraftLockstep) Propose(batch [][]byte) error {
	if err := l.nodes[l.lead].ProposeBatch(batch); err != nil {
		return fmt.Errorf("tabraft: propose: %w", err)
	}
	return nil
}

func (l *tabraftLockstep) Pump() (int, error) {
	applied := 0
	for range maxPumpRounds {
		for i, n := range l.nodes {
			for n.HasReady() {
				rd := n.Ready()
				if err := l.stores[i].Save(&rd); err != nil {
					return applied, fmt.Errorf("tabraft: member %d: save: %w", i+1, err)
				}
				l.queue = append(l.queue, rd.Messages...)
				if i == l.lead {
					for _, e := range rd.CommittedEntries {
						if len(e.Data) > 0 {
							applied++
						}
					}
				}
				n.Advance()
			}
			if n.ShouldCompact() {
				snap, err := n.Compact(nil)
				if err != nil {
					return applied, fmt.Errorf("tabraft: member %d: compact: %w", i+1, err)
				}
				if err := l.stores[i].Compact(snap); err != nil {
					return applied, fmt.Errorf("tabraft: member %d: compact storage: %w", i+1, err)
				}
			}
		}
		if len(l.queue) == 0 {
			return applied, nil
		}
		q := l.queue
		l.queue = nil
		for _, m := range q {
			_ = l.nodes[m.To-1].Step(m)
		}
	}
	return applied, errors.New("tabraft: lockstep cluster never went quiet")
}

type etcdLockstep struct {
	nodes      []*etcdraft.RawNode
	stores     []*etcdraft.MemoryStorage
	compactors []etcdCompactor
	lead       int
	queue      []raftpb.Message
}

func newEtcdLockstep() (Lockstep, error) {
	l := &etcdLockstep{}
	voters := []uint64{1, 2, 3}
	quiet := &etcdraft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}
	for _, id := range voters {
		store := etcdraft.NewMemoryStorage()
		if err := store.ApplySnapshot(raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{
			Index: 1, Term: 1, ConfState: raftpb.ConfState{Voters: voters},
		}}); err != nil {
			return nil, fmt.Errorf("etcd: bootstrap member %d: %w", id, err)
		}
		rn, err := etcdraft.NewRawNode(etcdConfig(id, store, quiet))
		if err != nil {
			return nil, fmt.Errorf("etcd: member %d: %w", id, err)
		}
		l.nodes, l.stores = append(l.nodes, rn), append(l.stores, store)
		l.compactors = append(l.compactors, etcdCompactor{applied: 1, snapIndex: 1, confState: raftpb.ConfState{Voters: voters}})
	}
	if err := l.nodes[0].Campaign(); err != nil {
		return nil, fmt.Errorf("etcd: campaign: %w", err)
	}
	if _, err := l.Pump(); err != nil {
		return nil, err
	}
	if l.nodes[0].BasicStatus().RaftState != etcdraft.StateLeader {
		return nil, errors.New("etcd: member 1 did not win its election")
	}
	return l, nil
}

func (l *etcdLockstep) Propose(batch [][]byte) error {
	ents := make([]raftpb.Entry, len(batch))
	for i, d := range batch {
		ents[i].Data = d
	}
	id := uint64(l.lead + 1)
	if err := l.nodes[l.lead].Step(raftpb.Message{Type: raftpb.MsgProp, From: id, Entries: ents}); err != nil {
		return fmt.Errorf("etcd: propose: %w", err)
	}
	return nil
}

func (l *etcdLockstep) Pump() (int, error) {
	applied := 0
	for range maxPumpRounds {
		for i, n := range l.nodes {
			for n.HasReady() {
				rd := n.Ready()
				if err := etcdPersist(l.stores[i], &rd); err != nil {
					return applied, fmt.Errorf("etcd: member %d: %w", i+1, err)
				}
				l.queue = append(l.queue, rd.Messages...)
				if i == l.lead {
					for _, e := range rd.CommittedEntries {
						if len(e.Data) > 0 {
							applied++
						}
					}
				}
				n.Advance(rd)
				l.compactors[i].observe(&rd)
			}
			if err := l.compactors[i].maybeCompact(l.stores[i]); err != nil {
				return applied, fmt.Errorf("etcd: member %d: %w", i+1, err)
			}
		}
		if len(l.queue) == 0 {
			return applied, nil
		}
		q := l.queue
		l.queue = nil
		for _, m := range q {
			_ = l.nodes[m.To-1].Step(m)
		}
	}
	return applied, errors.New("etcd: lockstep cluster never went quiet")
}
