package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	hraft "github.com/hashicorp/raft"
)

// hashicorpTimeout bounds one Apply (enqueueing and waiting included).
const hashicorpTimeout = 30 * time.Second

// hashicorpCluster is three hashicorp/raft members over its in-memory
// transport, with in-memory log, stable and snapshot stores. Unlike the
// other two it runs its own goroutines (a leader loop, one replication
// pipeline per follower, an FSM goroutine); Apply on the leader returns once
// the leader's FSM applied the entry.
type hashicorpCluster struct {
	nodes  []*hraft.Raft
	trans  []*hraft.InmemTransport
	lead   *hraft.Raft
	nextID atomic.Uint64
}

// countFSM is the trivial state machine: it counts what it applies.
type countFSM struct{ applied atomic.Uint64 }

func (f *countFSM) Apply(*hraft.Log) any {
	f.applied.Add(1)
	return nil
}

func (f *countFSM) Snapshot() (hraft.FSMSnapshot, error) {
	return countSnapshot(f.applied.Load()), nil
}

func (f *countFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var b [8]byte
	if _, err := io.ReadFull(rc, b[:]); err != nil {
		return fmt.Errorf("bench: restore: %w", err)
	}
	f.applied.Store(binary.LittleEndian.Uint64(b[:]))
	return nil
}

// countSnapshot is the FSM's image: its count.
type countSnapshot uint64

func (s countSnapshot) Persist(sink hraft.SnapshotSink) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(s))
	if _, err := sink.Write(b[:]); err != nil {
		return errors.Join(fmt.Errorf("bench: persist: %w", err), sink.Cancel())
	}
	return sink.Close()
}

func (countSnapshot) Release() {}

func hashicorpConfig(id hraft.ServerID) *hraft.Config {
	conf := hraft.DefaultConfig()
	conf.LocalID = id
	// Failure detection on the scale of the others' (whose election
	// timeouts are 150–300 ms of 10 ms ticks) but on hashicorp's wall-clock
	// timers, which a busy machine delays: 500 ms. None of these is on the
	// write path. A short commit timeout, and the largest batches allowed.
	conf.HeartbeatTimeout = 500 * time.Millisecond
	conf.ElectionTimeout = 500 * time.Millisecond
	conf.LeaderLeaseTimeout = 500 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.MaxAppendEntries = 1024
	conf.BatchApplyCh = true
	// The compaction policy of the others: a snapshot every 10,000
	// entries (checked often), 1,000 entries kept behind it.
	conf.SnapshotInterval = 50 * time.Millisecond
	conf.SnapshotThreshold = snapshotEntries
	conf.TrailingLogs = compactionKeepEntries
	conf.NoLegacyTelemetry = true
	conf.Logger = hclog.NewNullLogger()
	return conf
}

func startHashicorp(ctx context.Context) (Cluster, error) {
	const size = 3
	c := &hashicorpCluster{}
	var servers []hraft.Server
	for i := range size {
		id := hraft.ServerID(strconv.Itoa(i + 1))
		addr, trans := hraft.NewInmemTransport(hraft.ServerAddress("m" + string(id)))
		c.trans = append(c.trans, trans)
		servers = append(servers, hraft.Server{Suffrage: hraft.Voter, ID: id, Address: addr})
	}
	for i, a := range c.trans {
		for j, b := range c.trans {
			if i != j {
				a.Connect(b.LocalAddr(), b)
			}
		}
	}
	// Leadership changes are few; a buffer keeps hashicorp from blocking on
	// them once nobody reads.
	notify := make([]chan bool, size)
	for i := range size {
		conf := hashicorpConfig(servers[i].ID)
		notify[i] = make(chan bool, 64)
		conf.NotifyCh = notify[i]
		logs, snaps := hraft.NewInmemStore(), hraft.NewInmemSnapshotStore()
		if err := hraft.BootstrapCluster(conf, logs, logs, snaps, c.trans[i],
			hraft.Configuration{Servers: servers}); err != nil {
			return nil, errors.Join(fmt.Errorf("hashicorp: bootstrap member %d: %w", i+1, err), c.Close())
		}
		r, err := hraft.NewRaft(conf, &countFSM{}, logs, logs, snaps, c.trans[i])
		if err != nil {
			return nil, errors.Join(fmt.Errorf("hashicorp: member %d: %w", i+1, err), c.Close())
		}
		c.nodes = append(c.nodes, r)
	}
	for c.lead == nil {
		var leads bool
		var who int
		select {
		case leads = <-notify[0]:
		case leads = <-notify[1]:
			who = 1
		case leads = <-notify[2]:
			who = 2
		case <-ctx.Done():
			return nil, errors.Join(fmt.Errorf("hashicorp: waiting for a leader: %w", ctx.Err()), c.Close())
		}
		if leads {
			c.lead = c.nodes[who]
		}
	}
	// Leadership is established once the leader's barrier is applied.
	if err := c.lead.Barrier(hashicorpTimeout).Error(); err != nil {
		return nil, errors.Join(fmt.Errorf("hashicorp: leader barrier: %w", err), c.Close())
	}
	return c, nil
}

func (c *hashicorpCluster) Write(_ context.Context, data []byte) error {
	// Not used by hashicorp; written for the same bytes as the others.
	id := c.nextID.Add(1)
	binary.LittleEndian.PutUint64(data, id)
	if err := c.lead.Apply(data, hashicorpTimeout).Error(); err != nil {
		return fmt.Errorf("hashicorp: apply: %w", err)
	}
	return nil
}

func (c *hashicorpCluster) Close() error {
	var errs []error
	for i, r := range c.nodes {
		if err := r.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("hashicorp: shutdown member %d: %w", i+1, err))
		}
	}
	for _, t := range c.trans {
		if err := t.Close(); err != nil {
			errs = append(errs, fmt.Errorf("hashicorp: close transport: %w", err))
		}
	}
	return errors.Join(errs...)
}
