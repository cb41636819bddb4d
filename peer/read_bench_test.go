package peer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft/rafttest"
)

// BenchmarkRead: linearizable reads (ReadIndex: a heartbeat round confirms
// leadership, then the read runs once the state is applied) from C
// closed-loop clients on the leader of a 3-member in-memory cluster, and
// on a follower (which asks the leader for the read index).
func BenchmarkRead(b *testing.B) {
	for _, where := range []string{"leader", "follower"} {
		for _, clients := range []int{1, 256} {
			b.Run(fmt.Sprintf("on=%s/C=%d", where, clients), func(b *testing.B) {
				c := newClusterIn(b, 3, clusterEnv{transport: memTransports(), storage: memStorages(), tick: 10 * time.Millisecond})
				id := c.leader()
				c.write("k", "v")
				if where == "follower" {
					id = c.ids[0]
					if id == c.leader() {
						id = c.ids[1]
					}
				}
				n, bd := c.nodes[id], c.boards[id]
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				b.ResetTimer()
				res, err := rafttest.Run(ctx, rafttest.Load{Clients: clients, Ops: b.N}, func(ctx context.Context, _ int) error {
					v, err := n.Read(ctx, func() any { v, _ := bd.Get("k"); return v })
					if err == nil && v != "v" {
						err = fmt.Errorf("read %v, want v", v)
					}
					return err
				})
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.PerSecond(), "reads/s")
				b.ReportMetric(float64(res.P50)/float64(time.Microsecond), "p50-µs")
				b.ReportMetric(float64(res.P99)/float64(time.Microsecond), "p99-µs")
			})
		}
	}
}
