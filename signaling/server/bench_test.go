//go:build !js

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabraft/tabraft/signaling"
	"github.com/tabraft/tabraft/signaling/client"
)

// Shape of the relay benchmark.
const (
	benchClients  = 1000
	benchRooms    = 100
	benchMessages = 100_000 // relayed per benchmark iteration
)

// BenchmarkRelay puts 1,000 real WebSocket clients in 100 rooms of 10 on
// loopback and has them relay 100,000 ICE-candidate-sized messages per
// iteration, each to the other members of its room in turn. Each client keeps
// at most `window` messages in flight (sent, not yet received by their
// addressee): window=1 is a steady load, window=8 saturates the server.
//
// Reported: msgs/s (relayed messages per second, end to end), p50-ms and
// p99-ms (relay latency from the sender's Send to the addressee's Recv,
// under that load: mostly queueing), peak-heap-MB (the highest HeapInuse
// sampled every 10 ms during the relaying), setup-heap-MB (HeapInuse after a
// GC once everybody has joined), and, outside the timed part, idle-p50-ms and
// idle-p99-ms: the latency of 1,000 messages relayed one at a time by one
// member while the 999 others stay connected.
//
// In the "inproc" runs the server shares this process with the 1,000
// clients, so the heap figures are clients and server together. In the
// "process" run the server is a child process (this test binary again) that
// samples its own heap, so the heap figures are the server's alone. Either
// way clients and server share the machine's cores.
//
// Run it alone: go test -run='^$' -bench=Relay -benchtime=1x ./signaling/server
func BenchmarkRelay(b *testing.B) {
	for _, window := range []int{1, 8} {
		b.Run(fmt.Sprintf("inproc/window=%d", window), func(b *testing.B) {
			ts := startServer(b, benchConfig())
			benchRelay(b, ts.wsURL, window, newLocalHeap())
		})
	}
	for _, window := range []int{1, 8} {
		b.Run(fmt.Sprintf("process/window=%d", window), func(b *testing.B) {
			child := startBenchServerProcess(b)
			benchRelay(b, child.wsURL, window, child)
		})
	}
}

// benchConfig is the server configuration of the benchmark: the defaults,
// with room for its clients and no rate limit.
func benchConfig() Config {
	return Config{
		MaxConns:     2 * benchClients,
		MaxRooms:     benchRooms,
		MessageRate:  1e9,
		MessageBurst: 1 << 30,
	}
}

// heapProbe measures the server's heap.
type heapProbe interface {
	// settled returns HeapInuse after a GC, and starts peak tracking anew.
	settled(testing.TB) uint64
	// peak returns the highest HeapInuse since settled.
	peak(testing.TB) uint64
	// close stops the probe.
	close()
}

// localHeap samples this process's heap every 10 ms.
type localHeap struct {
	max  atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func newLocalHeap() *localHeap {
	h := &localHeap{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > h.max.Load() {
				h.max.Store(ms.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *localHeap) settled(testing.TB) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.max.Store(ms.HeapInuse)
	return ms.HeapInuse
}

func (h *localHeap) peak(testing.TB) uint64 { return h.max.Load() }

func (h *localHeap) close() {
	close(h.stop)
	<-h.done
}

// benchMember is one client of the benchmark.
type benchMember struct {
	c    *client.Client
	id   string
	room int
	// peers are the other members of the room, by index.
	peers []int
	// credit holds a token per message this member may still have in
	// flight.
	credit chan struct{}
}

func benchRelay(b *testing.B, wsURL string, window int, heap heapProbe) {
	defer heap.close()
	members := benchJoin(b, wsURL, window)

	// Receivers: every message relayed to member i is counted, its latency
	// recorded, and its sender's credit given back.
	start := time.Now()
	lat := make([]time.Duration, benchMessages*b.N)
	var received, errs atomic.Int64
	allIn := make(chan struct{})
	// In the idle phase, after the timed run, one member relays messages
	// one at a time while the 999 others stay connected and quiet.
	var idle atomic.Bool
	idleLat := make(chan time.Duration, 1)
	index := make(map[string]int, len(members))
	for i, m := range members {
		index[m.id] = i
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var recvWG sync.WaitGroup
	for _, m := range members {
		recvWG.Go(func() {
			for {
				msg, err := m.c.Recv(ctx)
				if err != nil {
					return
				}
				switch msg.Type {
				case signaling.TypeCandidate:
				case signaling.TypeError:
					errs.Add(1)
					continue
				default:
					continue
				}
				sent, ok := sentAt(msg.Data)
				if !ok {
					errs.Add(1)
					continue
				}
				d := time.Since(start) - sent
				if idle.Load() {
					idleLat <- d
					members[index[msg.From]].credit <- struct{}{}
					continue
				}
				n := received.Add(1)
				lat[n-1] = d
				members[index[msg.From]].credit <- struct{}{}
				if n == int64(len(lat)) {
					close(allIn)
				}
			}
		})
	}

	setupHeap := heap.settled(b)
	b.ResetTimer()
	begin := time.Now()
	perMember := benchMessages / benchClients
	for range b.N {
		var sendWG sync.WaitGroup
		for _, m := range members {
			sendWG.Go(func() {
				payload := make([]byte, 0, 256)
				for k := range perMember {
					<-m.credit
					to := members[m.peers[k%len(m.peers)]].id
					payload = candidate(payload[:0], time.Since(start))
					if err := m.c.Relay(ctx, signaling.TypeCandidate, to, payload); err != nil {
						errs.Add(1)
						return
					}
				}
			})
		}
		sendWG.Wait()
	}
	select {
	case <-allIn:
	case <-time.After(2 * time.Minute):
		b.Fatalf("only %d of %d messages arrived (%d errors)", received.Load(), len(lat), errs.Load())
	}
	elapsed := time.Since(begin)
	b.StopTimer()
	peakHeap := heap.peak(b)

	if n := errs.Load(); n > 0 {
		b.Fatalf("%d errors during the run", n)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(setupHeap)/(1<<20), "setup-heap-MB")

	idle.Store(true)
	const idleMessages = 1000
	one, to := members[0], members[members[0].peers[0]].id
	idleLats := make([]time.Duration, 0, idleMessages)
	payload := make([]byte, 0, 256)
	for range idleMessages {
		<-one.credit
		payload = candidate(payload[:0], time.Since(start))
		if err := one.c.Relay(ctx, signaling.TypeCandidate, to, payload); err != nil {
			b.Fatal(err)
		}
		select {
		case d := <-idleLat:
			idleLats = append(idleLats, d)
		case <-time.After(waitTimeout):
			b.Fatal("idle-phase message lost")
		}
	}
	slices.Sort(idleLats)
	b.ReportMetric(ms(idleLats[len(idleLats)/2]), "idle-p50-ms")
	b.ReportMetric(ms(idleLats[len(idleLats)*99/100]), "idle-p99-ms")

	cancel()
	for _, m := range members {
		m.c.CloseNow()
	}
	recvWG.Wait()
}

// benchJoin dials the clients and joins them to their rooms, a few at a
// time, and waits until the server has them all.
func benchJoin(b *testing.B, wsURL string, window int) []*benchMember {
	b.Helper()
	members := make([]*benchMember, benchClients)
	perRoom := benchClients / benchRooms
	for i := range members {
		m := &benchMember{id: "m" + strconv.Itoa(i), room: i % benchRooms, credit: make(chan struct{}, window)}
		for range window {
			m.credit <- struct{}{}
		}
		for j := m.room; j < benchClients; j += benchRooms {
			if j != i {
				m.peers = append(m.peers, j)
			}
		}
		if len(m.peers) != perRoom-1 {
			b.Fatalf("member %d has %d peers", i, len(m.peers))
		}
		members[i] = m
	}
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for _, m := range members {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			c, err := client.Dial(ctx, wsURL, &client.Options{Buffer: 64})
			if err == nil {
				m.c = c
				_, err = c.Join(ctx, "room"+strconv.Itoa(m.room), m.id)
			}
			if err != nil {
				failed.Store(&err)
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("join: %v", *err)
	}
	return members
}

// candidate appends a JSON ICE candidate of a realistic size that carries
// its send time.
func candidate(buf []byte, sent time.Duration) json.RawMessage {
	buf = append(buf, `{"candidate":"candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag 4ZcD network-cost 999","sdpMid":"0","sdpMLineIndex":0,"t":`...)
	buf = strconv.AppendInt(buf, int64(sent), 10)
	return append(buf, '}')
}

// sentAt reads back the send time of a candidate.
func sentAt(data json.RawMessage) (time.Duration, bool) {
	i := bytes.LastIndex(data, []byte(`"t":`))
	if i < 0 || len(data) == 0 || data[len(data)-1] != '}' {
		return 0, false
	}
	n, err := strconv.ParseInt(string(data[i+4:len(data)-1]), 10, 64)
	return time.Duration(n), err == nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
