package rafttest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Load describes a closed-loop write load: Clients goroutines, each
// issuing its next write only once its previous one returned.
type Load struct {
	// Clients is the number of concurrent writers (at least 1).
	Clients int
	// Ops, when positive, is the total number of writes, shared among the
	// clients. Otherwise the clients write for Duration.
	Ops int
	// Duration is how long the clients keep starting writes when Ops is 0.
	Duration time.Duration
}

// Result is what a Load measured.
type Result struct {
	// Ops is the number of writes completed.
	Ops int
	// Elapsed is the wall-clock time from the first write's start to the
	// last write's end.
	Elapsed time.Duration
	// P50, P99 and Max are the latencies of single writes.
	P50, P99, Max time.Duration
}

// PerSecond returns the throughput in writes per second.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Ops) / r.Elapsed.Seconds()
}

func (r Result) String() string {
	return fmt.Sprintf("%d writes in %v: %.0f writes/s, p50 %v, p99 %v, max %v",
		r.Ops, r.Elapsed.Round(time.Millisecond), r.PerSecond(), r.P50, r.P99, r.Max)
}

// Report records r as custom benchmark metrics: writes/s, p50-µs and p99-µs
// (ns/op then reads as the inverse of the throughput).
func (r Result) Report(b *testing.B) {
	b.ReportMetric(r.PerSecond(), "writes/s")
	b.ReportMetric(float64(r.P50)/float64(time.Microsecond), "p50-µs")
	b.ReportMetric(float64(r.P99)/float64(time.Microsecond), "p99-µs")
}

// Run applies load: each client calls write (with its client number) in a
// loop and its latency is measured around each call. The first error stops
// every client and is returned.
func Run(ctx context.Context, load Load, write func(ctx context.Context, client int) error) (Result, error) {
	if load.Clients < 1 || (load.Ops <= 0 && load.Duration <= 0) {
		return Result{}, fmt.Errorf("rafttest: invalid load %+v", load)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		remaining atomic.Int64
		errOnce   sync.Once
		firstErr  error
		wg        sync.WaitGroup
	)
	remaining.Store(int64(load.Ops))
	lats := make([][]time.Duration, load.Clients)
	perClient := 1024
	if load.Ops > 0 {
		perClient = load.Ops/load.Clients + 1
	}
	start := time.Now()
	deadline := start.Add(load.Duration)
	for i := range load.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := make([]time.Duration, 0, perClient)
			defer func() { lats[i] = l }()
			for {
				if load.Ops > 0 && remaining.Add(-1) < 0 {
					return
				}
				t0 := time.Now()
				if load.Ops <= 0 && t0.After(deadline) {
					return
				}
				if err := write(ctx, i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				l = append(l, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return Result{}, fmt.Errorf("rafttest: load: %w", firstErr)
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := Result{Ops: len(all), Elapsed: elapsed}
	if n := len(all); n > 0 {
		r.P50 = all[percentileIndex(n, 50)]
		r.P99 = all[percentileIndex(n, 99)]
		r.Max = all[n-1]
	}
	return r, nil
}

// percentileIndex returns the index of the p-th percentile (nearest rank)
// in a sorted slice of n values.
func percentileIndex(n, p int) int {
	i := (n*p + 99) / 100 // ceil(n*p/100), 1-based rank
	return max(i-1, 0)
}
