package peer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/raft/rafttest"
)

// BenchmarkCluster: 3 native members, memory storage, 128-byte board
// writes from C closed-loop clients to the leader, each waiting until its
// write is applied there. The same cluster runs over real loopback WebRTC
// (with the wire codec and compression) and over the in-memory transport,
// so the ratio is the transport's cost.
func BenchmarkCluster(b *testing.B) {
	for _, transport := range []string{"mem", "webrtc"} {
		for _, clients := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("transport=%s/C=%d", transport, clients), func(b *testing.B) {
				env := clusterEnv{storage: memStorages(), tick: 10 * time.Millisecond}
				if transport == "mem" {
					env.transport = memTransports()
				} else {
					env.transport = rtcTransports(b)
				}
				benchCluster(b, env, clients)
			})
		}
	}
}

func benchCluster(b *testing.B, env clusterEnv, clients int) {
	c := newClusterIn(b, 3, env)
	lead := c.nodes[c.leader()]
	// A board write of 128 bytes, like a sticky note being typed.
	op := func(client int) []byte {
		key := fmt.Sprintf("note:%d", client)
		pad := 128 - len(board.Op{Kind: "set", Key: key}.Encode()) - len(`,"val":""`)
		return board.Op{Kind: "set", Key: key, Value: strings.Repeat("x", pad)}.Encode()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	res, err := rafttest.Run(ctx, rafttest.Load{Clients: clients, Ops: b.N}, func(ctx context.Context, client int) error {
		_, err := lead.Propose(ctx, op(client))
		return err
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	res.Report(b)
}
