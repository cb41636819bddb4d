package wire

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/tabraft/tabraft/raft"
)

// compressor is one candidate for payload compression in BenchmarkCodecs.
type compressor struct {
	name       string
	compress   func(dst, src []byte) []byte
	decompress func(dst, src []byte) ([]byte, error)
}

func candidates(tb testing.TB) []compressor {
	var cs []compressor
	for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(false), zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
		if err != nil {
			tb.Fatal(err)
		}
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { enc.Close(); dec.Close() })
		cs = append(cs, compressor{
			name:       "zstd-" + level.String(),
			compress:   func(dst, src []byte) []byte { return enc.EncodeAll(src, dst[:0]) },
			decompress: func(dst, src []byte) ([]byte, error) { return dec.DecodeAll(src, dst[:0]) },
		})
	}
	s2dec := func(dst, src []byte) ([]byte, error) { return s2.Decode(dst, src) }
	cs = append(cs,
		compressor{name: "s2", compress: s2.Encode, decompress: s2dec},
		compressor{name: "s2-better", compress: s2.EncodeBetter, decompress: s2dec},
	)
	return cs
}

// demoPayload is the raw payload section of a MsgApp of n demo operations.
func demoPayload(tb testing.TB, n int) []byte {
	g := newDemoGen(uint64(n), 4)
	e := newEncoder(tb, Options{})
	p, err := e.appendEntries(nil, g.entries(n, 7, 1000))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkCodecs measures the candidate compressors on demo MsgApp payloads
// of 10 to 500 operations: ratio (compressed/raw) and throughput over raw
// bytes. The package documentation records a run.
func BenchmarkCodecs(b *testing.B) {
	for _, c := range candidates(b) {
		for _, n := range demoBatchSizes {
			raw := demoPayload(b, n)
			comp := c.compress(nil, raw)
			b.Run(fmt.Sprintf("%s/ops=%d/compress", c.name, n), func(b *testing.B) {
				b.SetBytes(int64(len(raw)))
				dst := make([]byte, 0, 2*len(raw))
				for b.Loop() {
					dst = c.compress(dst, raw)
				}
				b.ReportMetric(float64(len(comp))/float64(len(raw)), "ratio")
			})
			b.Run(fmt.Sprintf("%s/ops=%d/decompress", c.name, n), func(b *testing.B) {
				b.SetBytes(int64(len(raw)))
				dst := make([]byte, 0, len(raw))
				for b.Loop() {
					var err error
					if dst, err = c.decompress(dst, comp); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEncode measures whole-message encoding (body, compression,
// fragmentation) of demo MsgApps and of a heartbeat.
func BenchmarkEncode(b *testing.B) {
	for _, bc := range benchMessages() {
		b.Run(bc.name, func(b *testing.B) {
			e := newEncoder(b, Options{})
			frags, err := e.Encode(bc.m)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(entryBytes(bc.m)))
			var dst [][]byte
			for b.Loop() {
				if dst, err = e.AppendFrames(dst[:0], bc.m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(wireSize(frags))/float64(max(entryBytes(bc.m), 1)), "wire/raw")
		})
	}
}

// BenchmarkDecode measures reassembly and decoding of the same messages.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range benchMessages() {
		b.Run(bc.name, func(b *testing.B) {
			e := newEncoder(b, Options{})
			frags, err := e.Encode(bc.m)
			if err != nil {
				b.Fatal(err)
			}
			d := newDecoder(b, Options{})
			b.SetBytes(int64(entryBytes(bc.m)))
			for b.Loop() {
				for _, f := range frags {
					if _, _, err := d.Feed(f); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

type benchMessage struct {
	name string
	m    raft.Message
}

func benchMessages() []benchMessage {
	g := newDemoGen(1, 4)
	bs := []benchMessage{{"heartbeat", raft.Message{Type: raft.MsgHeartbeat, From: 1, To: 2, Term: 7, Commit: 123456}}}
	for _, n := range []int{10, 100, 500} {
		bs = append(bs, benchMessage{fmt.Sprintf("msgapp-%d", n), demoMsgApp(g, n, 1000)})
	}
	for _, n := range []int{128, 512} {
		bs = append(bs, benchMessage{fmt.Sprintf("random-msgapp-%d", n), randomMsgApp(n)})
	}
	return bs
}

// randomMsgApp is a MsgApp of n board writes of 128 bytes with random
// values, behind the command header peer adds, as cmd/tabraft-bench
// proposes them: little for compression to find but the JSON around the
// values.
func randomMsgApp(n int) raft.Message {
	const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	ents := make([]raft.Entry, n)
	for i := range ents {
		val := make([]byte, 92)
		for k := range val {
			val[k] = abc[rng.IntN(len(abc))]
		}
		// The command header: version, proposer, run, sequence number.
		cmd := append([]byte{2, 0xe5, 0xd3, 0xe7, 0xd7, 0xf0, 0xac, 0x2e}, "\x8c\x1f\x03\x9a\x41\x17\xe2\x5b"...)
		cmd = binary.AppendUvarint(cmd, uint64(1000+i))
		cmd = fmt.Appendf(cmd, `{"op":"set","key":"b%d-%04d","val":"%s"}`, i%3, i%1024, val)
		ents[i] = raft.Entry{Term: 7, Index: uint64(1000 + i), Type: raft.EntryNormal, Data: cmd}
	}
	return raft.Message{Type: raft.MsgApp, From: 1, To: 2, Term: 7, LogTerm: 7, Index: 999, Commit: 999, Entries: ents}
}

func wireSize(frags [][]byte) int {
	n := 0
	for _, f := range frags {
		n += len(f)
	}
	return n
}
