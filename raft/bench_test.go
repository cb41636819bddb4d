package raft_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft/rafttest"
)

// proposalSize is the size of each benchmarked write, request id included.
const proposalSize = 128

// BenchmarkWrite measures the core in a 3-member cluster in one process
// (memory storage, a member goroutine each, channels between them): C
// clients each propose a 128-byte write to the leader and wait until the
// leader applied it before issuing the next. It reports writes/s and the
// p50/p99 latency of one write.
func BenchmarkWrite(b *testing.B) {
	for _, clients := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("C=%d", clients), func(b *testing.B) {
			benchmarkWrite(b, clients)
		})
	}
}

func benchmarkWrite(b *testing.B, clients int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := rafttest.New(rafttest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			b.Error(err)
		}
	}()
	if err := c.Campaign(ctx, 1); err != nil {
		b.Fatal(err)
	}
	lead, err := c.WaitLeader(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	res, err := rafttest.Run(ctx, rafttest.Load{Clients: clients, Ops: b.N},
		func(ctx context.Context, _ int) error {
			return c.Propose(ctx, lead, make([]byte, proposalSize))
		})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	res.Report(b)
	if d := c.Dropped(); d > 0 {
		b.ReportMetric(float64(d), "dropped-msgs")
	}
}
