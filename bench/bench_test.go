package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft/rafttest"
)

// BenchmarkWrite runs the workload on every implementation:
// BenchmarkWrite/impl=NAME/C=N reports writes/s and p50/p99 latency in µs.
func BenchmarkWrite(b *testing.B) {
	for _, impl := range Impls() {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			for _, clients := range []int{1, 16, 256} {
				b.Run(fmt.Sprintf("C=%d", clients), func(b *testing.B) {
					benchmarkWrite(b, impl, clients)
				})
			}
		})
	}
}

func benchmarkWrite(b *testing.B, impl Impl, clients int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := impl.Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := c.Close(); err != nil {
			b.Error(err)
		}
	}()
	b.ResetTimer()
	m, err := measure(ctx, c, rafttest.Load{Clients: clients, Ops: b.N}, 0)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	m.Report(b)
	b.ReportMetric(float64(m.CPUPerWrite().Nanoseconds()), "cpu-ns/write")
}

// TestImplsWrite checks that every driver starts, elects, replicates writes
// from concurrent clients and stops cleanly.
func TestImplsWrite(t *testing.T) {
	for _, impl := range Impls() {
		t.Run(impl.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			// Past the compaction threshold, so compaction runs too.
			const writes = snapshotEntries + compactionKeepEntries + 500
			m, err := Measure(ctx, impl, rafttest.Load{Clients: 64, Ops: writes}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if m.Ops != writes {
				t.Fatalf("completed %d writes, want %d", m.Ops, writes)
			}
		})
	}
}

// BenchmarkCore measures the consensus cores alone: a 3-member Lockstep
// cluster (one goroutine, no channels or clock) receives batches of
// 128-byte writes, each pumped until the leader applied it. ns/op is per
// write; writes/s is its inverse.
func BenchmarkCore(b *testing.B) {
	for _, impl := range LockstepImpls() {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			for _, batch := range []int{1, 16, 256} {
				b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
					benchmarkCore(b, impl, batch)
				})
			}
		})
	}
}

func benchmarkCore(b *testing.B, impl LockstepImpl, batch int) {
	l, err := impl.New()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	if _, err := DriveLockstep(l, batch, b.N, time.Time{}); err != nil {
		b.Fatal(err)
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/write")
}

// TestLockstep checks that every lockstep cluster applies each batch.
func TestLockstep(t *testing.T) {
	for _, impl := range LockstepImpls() {
		t.Run(impl.Name, func(t *testing.T) {
			l, err := impl.New()
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 5, 300, 2*snapshotEntries + 1} {
				done, err := DriveLockstep(l, 128, n, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if done != n {
					t.Fatalf("did %d writes, want %d", done, n)
				}
			}
		})
	}
}
