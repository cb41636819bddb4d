//go:build !js

package rtc

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// benchPair starts two connected transports on loopback.
func benchPair(b *testing.B) (*Transport, *Transport) {
	b.Helper()
	url := startSignaling(b)
	room := roomName(b)
	a := start(b, testConfig(url, room, 1))
	c := start(b, testConfig(url, room, 2))
	waitMesh(b, a, c)
	return a, c
}

// BenchmarkThroughput streams MsgApp messages of one entry from one member
// to another, keeping at most window messages in flight so that nothing is
// dropped. Bytes are the entries' data.
func BenchmarkThroughput(b *testing.B) {
	for _, bc := range []struct {
		name   string
		size   int
		window int
	}{
		{"entry=100B", 100, 1024},
		{"entry=16KiB", 16 << 10, 128},
		{"entry=64KiB", 64 << 10, 32},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, r := benchPair(b)
			rng := rand.New(rand.NewPCG(5, 6))
			data := make([]byte, bc.size)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			acked := make(chan uint64, 1)
			go func() {
				for i := 1; i <= b.N; i++ {
					m := <-r.Inbox()
					if m.Index != uint64(i) {
						b.Errorf("got message %d, want %d", m.Index, i)
						return
					}
					if i%16 == 0 || i == b.N {
						select {
						case <-acked:
						default:
						}
						acked <- uint64(i)
					}
				}
			}()
			b.SetBytes(int64(bc.size))
			b.ResetTimer()
			start := time.Now()
			var got uint64
			for i := 1; i <= b.N; i++ {
				for uint64(i)-got > uint64(bc.window) {
					select {
					case got = <-acked:
					case <-time.After(waitTimeout):
						b.Fatalf("stalled at %d, %d received", i, got)
					}
				}
				s.Send(app(1, 2, uint64(i), data))
			}
			for got < uint64(b.N) {
				select {
				case got = <-acked:
				case <-time.After(waitTimeout):
					b.Fatalf("stalled: %d of %d received", got, b.N)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			if p := peerStats(b, s, 2); p.Dropped() != 0 {
				b.Errorf("%d messages dropped", p.Dropped())
			}
		})
	}
}

// BenchmarkRoundTrip measures a heartbeat and its response between two
// members: one message each way.
func BenchmarkRoundTrip(b *testing.B) {
	a, c := benchPair(b)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case m := <-c.Inbox():
				c.Send(raft.Message{Type: raft.MsgHeartbeatResp, From: 2, To: 1, Term: m.Term, Index: m.Index})
			case <-stop:
				return
			}
		}
	}()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		a.Send(raft.Message{Type: raft.MsgHeartbeat, From: 1, To: 2, Term: 1, Index: uint64(i)})
		select {
		case m := <-a.Inbox():
			if m.Index != uint64(i) {
				b.Fatalf("response %d, want %d", m.Index, i)
			}
		case <-time.After(waitTimeout):
			b.Fatalf("no response to %d", i)
		}
	}
}
