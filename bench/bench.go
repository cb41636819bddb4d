// Package bench compares tabraft's consensus core with etcd's raft and
// hashicorp's raft on one workload, in one process: a 3-member cluster with
// memory storage, 128-byte writes, and C concurrent clients each waiting for
// its write to be applied on the leader before issuing the next.
//
// It is a module of its own so that the product never depends on the other
// implementations. The tabraft and etcd drivers are built the same way: one
// goroutine per member ticking every 10 ms, channels between members, Ready
// handled as persist → send → apply → advance, and every queued proposal
// drained into a single proposal step before the next Ready. hashicorp/raft
// drives itself; clients call Apply on the leader and wait on the future.
package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/tabraft/tabraft/raft/rafttest"
)

// PayloadSize is the size of every write, the 8-byte request id included.
const PayloadSize = 128

// Cluster is a running 3-member cluster of one implementation, with a
// leader elected.
type Cluster interface {
	// Write replicates data (PayloadSize bytes, owned by the cluster from
	// now on; its first 8 bytes may be overwritten with a request id) and
	// returns once the leader applied it.
	Write(ctx context.Context, data []byte) error
	// Close stops the cluster and reports any error its members met.
	Close() error
}

// Impl is one implementation under comparison.
type Impl struct {
	// Name identifies the implementation in benchmark names and tables.
	Name string
	// Start starts a cluster and waits until it has a leader.
	Start func(ctx context.Context) (Cluster, error)
}

// Impls returns the implementations compared, tabraft first:
//   - tabraft: the core with raft.MemoryStorage, driven by raft/rafttest;
//   - etcd: go.etcd.io/raft/v3 RawNode with its MemoryStorage;
//   - hashicorp: github.com/hashicorp/raft with its in-memory stores and
//     transport.
func Impls() []Impl {
	return []Impl{
		{Name: "tabraft", Start: startTabraft},
		{Name: "etcd", Start: startEtcd},
		{Name: "hashicorp", Start: startHashicorp},
	}
}

// Measurement is what Measure or MeasureLockstep found.
type Measurement struct {
	rafttest.Result
	// CPU is the CPU time the whole process used during the measured
	// writes (all goroutines, garbage collection included). Unlike
	// throughput, it is barely changed by other processes sharing the
	// machine. Zero where it cannot be measured.
	CPU time.Duration
}

// CPUPerWrite returns the CPU time spent per completed write.
func (m Measurement) CPUPerWrite() time.Duration {
	if m.Ops == 0 {
		return 0
	}
	return m.CPU / time.Duration(m.Ops)
}

// Measure starts a cluster of impl, optionally warms it up for warmup with
// the same load, then measures load and stops the cluster.
func Measure(ctx context.Context, impl Impl, load rafttest.Load, warmup time.Duration) (Measurement, error) {
	c, err := impl.Start(ctx)
	if err != nil {
		return Measurement{}, fmt.Errorf("bench: starting %s: %w", impl.Name, err)
	}
	m, err := measure(ctx, c, load, warmup)
	if cerr := c.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("bench: stopping %s: %w", impl.Name, cerr)
	}
	if err != nil {
		return Measurement{}, fmt.Errorf("bench: %s: %w", impl.Name, err)
	}
	return m, nil
}

func measure(ctx context.Context, c Cluster, load rafttest.Load, warmup time.Duration) (Measurement, error) {
	if warmup > 0 {
		if _, err := rafttest.Run(ctx, rafttest.Load{Clients: load.Clients, Duration: warmup}, writer(c)); err != nil {
			return Measurement{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	cpu0 := processCPU()
	res, err := rafttest.Run(ctx, load, writer(c))
	if err != nil {
		return Measurement{}, err
	}
	return Measurement{Result: res, CPU: processCPU() - cpu0}, nil
}

// writer returns the client operation every implementation runs: allocate
// a fresh PayloadSize buffer (the log keeps it) and write it.
func writer(c Cluster) func(ctx context.Context, client int) error {
	return func(ctx context.Context, _ int) error {
		return c.Write(ctx, make([]byte, PayloadSize))
	}
}
