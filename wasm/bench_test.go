package wasm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tabraft/tabraft/peer/wire"
	"github.com/tabraft/tabraft/raft"
)

// BenchmarkMemberBatches is the Go side of cmd/tabraft-bench natively:
// three members, every one proposing batches of 128 ops of 128 bytes (as
// JSON.stringify writes them, random values) with 4 batches in flight,
// every message through the wire codec (encoded, compressed, decoded)
// between in-memory links. What it leaves out is the browser's: IndexedDB,
// the data channels, JavaScript. One iteration is one batch.
func BenchmarkMemberBatches(b *testing.B) {
	const members, batch, inFlight = 3, 128, 4
	// Inboxes that never fill: a data channel loses nothing, while a full
	// in-memory inbox drops (a dropped proposal is never answered).
	var mu sync.Mutex
	var trs []*wireTransport
	_, ms := clusterIn(b, newMemRoomSize(1<<16), members, func(env *Env) {
		dial := env.Dial
		env.Dial = func(ctx context.Context) (Transport, error) {
			tr, err := dial(ctx)
			if err != nil {
				return nil, err
			}
			wt := &wireTransport{Transport: tr, links: map[raft.NodeID]*wireLink{}}
			mu.Lock()
			trs = append(trs, wt)
			mu.Unlock()
			return wt, nil
		}
	})
	payloads := make([][][]byte, members)
	for i := range ms {
		payloads[i] = benchBatches(i, 32, batch, 128)
	}
	var next, failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, m := range ms {
		for c := range inFlight {
			wg.Go(func() {
				for k := c; next.Add(1) <= int64(b.N); k++ {
					cmds, err := ParseBatch(payloads[i][k%len(payloads[i])])
					if err == nil {
						_, err = m.proposeCommands(context.Background(), cmds)
					}
					if err != nil { // a change of leader under load, most likely
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
				}
			})
		}
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Logf("%d batches failed, the first with: %v", failed.Load(), err)
	}
	b.ReportMetric(float64(failed.Load()), "failed-batches")
	mu.Lock()
	for _, tr := range trs {
		tr.mu.Lock()
		if tr.dropped > 0 {
			b.Errorf("the codec refused %d messages", tr.dropped)
		}
		tr.mu.Unlock()
	}
	mu.Unlock()
	b.ReportMetric(float64((int64(b.N)-failed.Load())*batch)/time.Since(start).Seconds(), "ops/s")
}

// benchBatches returns n JSON arrays of size ops of opSize bytes each, as
// the browser benchmark's tab number tab proposes them.
func benchBatches(tab, n, size, opSize int) [][]byte {
	const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	rng := rand.New(rand.NewPCG(uint64(tab), 1))
	key := func(i int) string { return fmt.Sprintf("b%d-%04d", tab, i%1024) }
	valLen := opSize - len(fmt.Sprintf(`{"op":"set","key":%q,"val":""}`, key(0)))
	out := make([][]byte, n)
	seq := 0
	for i := range out {
		var s strings.Builder
		s.WriteByte('[')
		for j := range size {
			if j > 0 {
				s.WriteByte(',')
			}
			val := make([]byte, valLen)
			for k := range val {
				val[k] = abc[rng.IntN(len(abc))]
			}
			fmt.Fprintf(&s, `{"op":"set","key":%q,"val":%q}`, key(seq), val)
			seq++
		}
		s.WriteByte(']')
		out[i] = []byte(s.String())
	}
	return out
}

// wireTransport passes every message it sends through the wire codec, as
// peer/rtc does: encoded and compressed by an Encoder per destination,
// then decoded by that link's Decoder.
type wireTransport struct {
	Transport
	mu      sync.Mutex
	links   map[raft.NodeID]*wireLink
	dropped int // messages the codec refused: none expected
}

type wireLink struct {
	enc *wire.Encoder
	dec *wire.Decoder
}

// Send implements peer.Transport: a message the codec refuses is dropped
// (and counted).
func (t *wireTransport) Send(m raft.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.links[m.To]
	if l == nil {
		enc, eerr := wire.NewEncoder(wire.Options{})
		dec, derr := wire.NewDecoder(wire.Options{})
		if eerr != nil || derr != nil {
			t.dropped++
			return
		}
		l = &wireLink{enc: enc, dec: dec}
		t.links[m.To] = l
	}
	frags, err := l.enc.Encode(m)
	if err != nil {
		t.dropped++
		return
	}
	for _, f := range frags {
		got, ok, err := l.dec.Feed(f)
		switch {
		case err != nil:
			t.dropped++
		case ok:
			t.Transport.Send(got)
		}
	}
}
