package peer

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/peer/board"
	"github.com/tabraft/tabraft/peer/rtc"
	"github.com/tabraft/tabraft/raft"
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
	// A board write of about 128 bytes: a sticky note being typed, in
	// words from a small vocabulary (compressible like real text, unlike
	// one repeated byte).
	words := strings.Fields("the board note meet at ten bring coffee plan sprint demo raft tab leader vote log commit")
	seqs := make([]int, clients) // each client touches only its own slot
	op := func(client int) []byte {
		seqs[client]++
		var text strings.Builder
		for k := uint(seqs[client]) * 7919; text.Len() < 70; k = k*31 + uint(client) + 17 {
			text.WriteString(words[k%uint(len(words))])
			text.WriteByte(' ')
		}
		return board.Op{Kind: "set", Key: fmt.Sprintf("note:%d:%d", client, seqs[client]%64), Value: text.String()}.Encode()
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
	// A leader change during the run would explain a long tail: report it.
	if st, err := lead.Status(ctx); err == nil && st.Role != raft.Leader {
		b.Logf("the leader lost its leadership during the run (now %s in term %d)", st.Role, st.Term)
	}
	// Compression: what the leader's links put on the wire against the
	// encoded size with payloads raw.
	if tr, ok := c.links[lead.ID()].Transport.(*rtc.Transport); ok {
		var raw, onWire uint64
		for _, p := range tr.Stats().Peers {
			raw += p.Wire.RawBytesSent
			onWire += p.Wire.WireBytesSent
		}
		if raw > 0 {
			b.ReportMetric(100*float64(onWire)/float64(raw), "wire-%-of-raw")
		}
	}
}
