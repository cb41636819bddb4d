package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/tabraft/tabraft/raft"
)

// mustReject feeds frag to d and checks it is rejected with want, counted
// once under want's reason, and that d carries on afterwards.
func mustReject(t *testing.T, d *Decoder, frag []byte, want error) {
	t.Helper()
	r, _ := ReasonOf(want)
	before := d.Stats().Snapshot().Rejected[r]
	m, ok, err := d.Feed(frag)
	if !errors.Is(err, want) || ok {
		t.Fatalf("Feed(%x…) = %v, %v, %v; want error %v", frag[:min(len(frag), 24)], m, ok, err, want)
	}
	if got := d.Stats().Snapshot().Rejected[r]; got != before+1 {
		t.Fatalf("rejections for %s: %d, want %d", r, got, before+1)
	}
	hb := []byte{Version, 0, 8, 0} // a bare MsgHeartbeat
	if _, ok, err := d.Feed(hb); !ok || err != nil {
		t.Fatalf("decoder does not carry on after %v: %v", want, err)
	}
}

// frame wraps a body in a single-fragment header.
func frame(body ...[]byte) []byte {
	return append([]byte{Version, 0}, bytes.Join(body, nil)...)
}

func uv(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func TestRejectUnknownVersion(t *testing.T) {
	d := newDecoder(t, Options{})
	for _, v := range []byte{0, Version + 1, 0x80, 255} {
		mustReject(t, d, []byte{v, 0, 8, 0}, ErrUnknownVersion)
		mustReject(t, d, []byte{v, flagSplit, 0, 0, 0, 1, 0, 0, 0, 2, 8}, ErrUnknownVersion)
	}
}

func TestRejectUnknownTypes(t *testing.T) {
	d := newDecoder(t, Options{})
	for _, wt := range []byte{0, 16, 100, 255} {
		mustReject(t, d, frame([]byte{wt, 0}), ErrUnknownType)
	}
	// An entry type without a wire number.
	mustReject(t, d, frame([]byte{2}, uv(fEntries), []byte{payloadRaw}, uv(1), []byte{0, 0, 7, 0}), ErrUnknownType)

	e := newEncoder(t, Options{})
	for _, typ := range []raft.MessageType{raft.MsgHup, raft.MsgBeat, raft.MsgUnreachable, 200} {
		if _, err := e.Encode(raft.Message{Type: typ}); !errors.Is(err, ErrUnencodable) {
			t.Errorf("encode %s: %v, want ErrUnencodable", typ, err)
		}
	}
	if _, err := e.Encode(raft.Message{Type: raft.MsgApp, Entries: []raft.Entry{{Type: 9}}}); !errors.Is(err, ErrUnencodable) {
		t.Errorf("encode entry type 9: %v, want ErrUnencodable", err)
	}
	// Every message type of the raft package either has a wire number or is local.
	for typ := raft.MessageType(0); !strings.HasPrefix(typ.String(), "MessageType("); typ++ {
		if _, ok := typeToWire(typ); ok == typ.IsLocal() {
			t.Errorf("%s: wire number %v, local %v", typ, ok, typ.IsLocal())
		}
	}
}

func TestRejectMalformed(t *testing.T) {
	d := newDecoder(t, Options{})
	for name, f := range map[string][]byte{
		"empty":               {},
		"version only":        {Version},
		"no body":             {Version, 0},
		"no mask":             {Version, 0, 8},
		"unknown flag":        {Version, 0x80, 8, 0},
		"unknown field bit":   frame([]byte{8}, uv(knownFields+1)),
		"overlong varint":     frame([]byte{8}, uv(fTerm), bytes.Repeat([]byte{0xff}, 11)),
		"truncated varint":    frame([]byte{8}, uv(fTerm), []byte{0x80}),
		"trailing bytes":      frame([]byte{8, 0, 0}),
		"context past end":    frame([]byte{8}, uv(fContext), uv(100), []byte("short")),
		"huge context length": frame([]byte{8}, uv(fContext), uv(1<<63)),
		"unknown codec":       frame([]byte{2}, uv(fEntries), []byte{7}, uv(0)),
		"no codec":            frame([]byte{2}, uv(fEntries)),
		"entry count lie":     frame([]byte{2}, uv(fEntries), []byte{payloadRaw}, uv(1000), []byte{0, 0, 0, 0}),
		"node count lie":      frame([]byte{10}, uv(fChunk), []byte{payloadRaw}, uv(1), uv(1), uv(4000), []byte{1, 2}),
		"payload trailing":    frame([]byte{2}, uv(fEntries), []byte{payloadRaw}, uv(1), []byte{0, 0, 0, 0, 99}),
		"split too short":     {Version, flagSplit, 0, 0, 0, 1, 0, 0},
		"split count 1":       {Version, flagSplit, 0, 0, 0, 1, 0, 0, 0, 1, 8, 0},
		"split index ≥ count": {Version, flagSplit, 0, 0, 0, 1, 0, 3, 0, 3, 8, 0},
	} {
		t.Run(name, func(t *testing.T) { mustReject(t, d, f, ErrMalformed) })
	}
}

// Every strict prefix of a valid fragment, and every prefix of the last
// fragment of a split message, is rejected.
func TestRejectTruncated(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	e := newEncoder(t, Options{})
	d := newDecoder(t, Options{})
	for _, typ := range sendable() {
		for range 20 {
			frags, err := e.Encode(randMessage(rng, typ))
			if err != nil {
				t.Fatal(err)
			}
			f := frags[0]
			for n := range len(f) {
				_, ok, err := d.Feed(f[:n])
				if ok || err == nil {
					t.Fatalf("%s: prefix %d of %d bytes accepted", typ, n, len(f))
				}
				if _, known := ReasonOf(err); !known {
					t.Fatalf("error without a reason: %v", err)
				}
			}
		}
	}
	e.fragSize = 64
	frags, err := e.Encode(raft.Message{Type: raft.MsgApp, Entries: []raft.Entry{{Term: 1, Index: 1, Data: noise(300, 8)}}})
	if err != nil {
		t.Fatal(err)
	}
	last := frags[len(frags)-1]
	for n := multiHeaderLen; n < len(last); n++ {
		d.Reset()
		for _, f := range frags[:len(frags)-1] {
			if _, _, err := d.Feed(f); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok, err := d.Feed(last[:n]); ok || err == nil {
			t.Fatalf("last fragment cut to %d bytes accepted", n)
		}
	}
}

// Garbled fragments never panic; what is rejected is rejected with a reason
// and counted; what is accepted re-encodes to a message that decodes the same.
func TestGarbled(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	e := newEncoder(t, Options{})
	d := newDecoder(t, Options{})
	var errs uint64
	for i := range 3000 {
		frags, err := e.Encode(randMessage(rng, sendable()[i%len(sendable())]))
		if err != nil {
			t.Fatal(err)
		}
		f := bytes.Clone(frags[0])
		for range 1 + rng.IntN(3) {
			switch rng.IntN(3) {
			case 0:
				f[rng.IntN(len(f))] ^= byte(1 << rng.IntN(8))
			case 1:
				f[rng.IntN(len(f))] = byte(rng.Uint32())
			case 2:
				i := rng.IntN(len(f))
				f = append(f[:i], f[i+1:]...)
			}
			if len(f) == 0 {
				break
			}
		}
		m, ok, err := d.Feed(f)
		if err != nil {
			errs++
			if _, known := ReasonOf(err); !known {
				t.Fatalf("error without a reason: %v", err)
			}
			continue
		}
		if ok {
			checkReencode(t, m, Options{})
		}
	}
	if got := d.Stats().Snapshot().TotalRejected(); got != errs || errs == 0 {
		t.Fatalf("%d errors, %d counted", errs, got)
	}
}

func TestRejectOversized(t *testing.T) {
	lim := Limits{MaxMessageSize: 32 << 10, MaxDecompressed: 64 << 10, MaxEntries: 10, MaxNodes: 3}
	small := newEncoder(t, Options{Limits: lim})
	large := newEncoder(t, Options{Limits: Limits{MaxMessageSize: 1 << 20}, CompressThreshold: -1})
	d := newDecoder(t, Options{Limits: lim})

	ents := func(n, size int) []raft.Entry {
		es := make([]raft.Entry, n)
		for i := range es {
			es[i] = raft.Entry{Term: 1, Index: uint64(i + 1), Data: noise(size, byte(i))}
		}
		return es
	}
	for name, m := range map[string]raft.Message{
		"entries":      {Type: raft.MsgApp, Entries: ents(11, 1)},
		"nodes":        {Type: raft.MsgSnap, Chunk: &raft.SnapshotChunk{Meta: raft.SnapshotMeta{ConfState: raft.ConfState{Learners: []raft.NodeID{1, 2, 3, 4}}}}},
		"message":      {Type: raft.MsgApp, Entries: ents(5, 8<<10)},
		"decompressed": {Type: raft.MsgSnap, Chunk: &raft.SnapshotChunk{Data: make([]byte, 65<<10)}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := small.Encode(m); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("encode: %v, want ErrTooLarge", err)
			}
			if name == "decompressed" {
				return // TestDecompressionBomb covers the decoder
			}
			frags, err := large.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			var rejected bool
			for _, f := range frags {
				_, ok, err := d.Feed(f)
				if ok {
					t.Fatal("decoded")
				}
				if err != nil {
					if !errors.Is(err, ErrTooLarge) {
						t.Fatalf("got %v, want ErrTooLarge", err)
					}
					rejected = true
				}
			}
			if !rejected {
				t.Fatal("not rejected")
			}
		})
	}
	t.Run("fragment", func(t *testing.T) {
		mustReject(t, d, frame([]byte{8, 0}, make([]byte, MaxFragmentSize)), ErrTooLarge)
	})
	t.Run("single fragment over MaxMessageSize", func(t *testing.T) {
		d := newDecoder(t, Options{Limits: Limits{MaxMessageSize: 100}})
		mustReject(t, d, frame([]byte{8}, uv(fContext), uv(200), make([]byte, 200)), ErrTooLarge)
	})
}

// zstdFrame compresses p into one zstd frame, as the Encoder does.
func zstdFrame(t *testing.T, p []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(1), zstd.WithSingleSegment(true))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(p, nil)
}

// rleBomb hand-writes a zstd frame that expands to size bytes of zeros from
// 4 bytes per 128 KiB: a frame header followed by RLE blocks. With claim < 0
// the header announces no content size; else it claims claim (< 256) bytes.
func rleBomb(size, claim int) []byte {
	const block = 128 << 10
	b := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528) // magic
	if claim < 0 {
		b = append(b, 0x00)  // no content size, not single segment, no checksum, no dictionary
		b = append(b, 10<<3) // window 1 MiB
	} else {
		b = append(b, 1<<5)        // single segment: a 1-byte content size follows
		b = append(b, byte(claim)) // a lie
	}
	for left := size; left > 0; left -= block {
		n := min(left, block)
		var last uint32
		if left <= block {
			last = 1
		}
		h := last | 1<<1 | uint32(n)<<3 // RLE block of n bytes
		b = append(b, byte(h), byte(h>>8), byte(h>>16), 0)
	}
	return b
}

func TestDecompressionBomb(t *testing.T) {
	lim := Limits{MaxDecompressed: 1 << 20}
	// A MsgApp whose payload is one entry of n zero bytes, compressed with
	// the given zstd data and declaring rawLen.
	msgApp := func(rawLen uint64, data []byte) []byte {
		return frame([]byte{2}, uv(fEntries), []byte{payloadZstd}, uv(rawLen), data)
	}
	entry := func(n int) []byte { // raw payload: one entry of n zeros
		return bytes.Join([][]byte{uv(1), {0, 0, 0}, uv(uint64(n)), make([]byte, n)}, nil)
	}
	bomb := rleBomb(256<<20, -1)
	if len(bomb) > 10<<10 {
		t.Fatalf("bomb of %d bytes does not fit a message", len(bomb))
	}
	ok := entry(100)
	okFrame := zstdFrame(t, ok)

	for name, tc := range map[string]struct {
		frag []byte
		want error
	}{
		// Declares more than the limit: rejected before decompressing.
		"declared over limit": {msgApp(2<<20, zstdFrame(t, entry(2<<20-10))), ErrDecompressedTooLarge},
		// The frame header announces more than declared.
		"frame over declared": {msgApp(uint64(len(ok)), zstdFrame(t, entry(500<<10))), ErrDecompressedTooLarge},
		// An honest first frame followed by a 256 MiB frame that announces
		// nothing: cut off by the size cap while decompressing.
		"second frame bomb": {msgApp(uint64(len(ok)), append(bytes.Clone(okFrame), bomb...)), ErrDecompressedTooLarge},
		// A frame whose header lies about its size: cut off while decompressing.
		"lying content size": {msgApp(200, rleBomb(256<<20, 200)), ErrDecompressedTooLarge},
		// A frame that does not announce its size is not one the Encoder makes.
		"no content size": {msgApp(1<<20, bomb), ErrCorrupt},
		"declared under":  {msgApp(uint64(len(ok))+1, okFrame), ErrCorrupt},
		"not zstd":        {msgApp(uint64(len(ok)), ok), ErrCorrupt},
	} {
		t.Run(name, func(t *testing.T) {
			d := newDecoder(t, Options{Limits: lim})
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			before := ms.TotalAlloc
			mustReject(t, d, tc.frag, tc.want)
			runtime.ReadMemStats(&ms)
			if alloc := ms.TotalAlloc - before; alloc > 4*uint64(lim.MaxDecompressed) {
				t.Fatalf("rejecting allocated %d bytes", alloc)
			}
		})
	}
	// The honest frame alone decodes.
	d := newDecoder(t, Options{Limits: lim})
	m, done, err := d.Feed(msgApp(uint64(len(ok)), okFrame))
	if err != nil || !done || len(m.Entries) != 1 || len(m.Entries[0].Data) != 100 {
		t.Fatalf("honest frame: %v %v %v", m, done, err)
	}
}

// TestVersions: a frame of version 1 (no cluster field) still decodes, as
// a message of cluster 0; the cluster field bit is malformed in version 1;
// a message with a cluster id round-trips in the current version.
func TestVersions(t *testing.T) {
	d := newDecoder(t, Options{})
	// A MsgHeartbeat from 1 to 2 in term 3, as version 1 wrote it.
	old := []byte{1, 0, 8, byte(fFrom | fTo | fTerm), 1, 2, 3}
	m, ok, err := d.Feed(old)
	if err != nil || !ok || m.Type != raft.MsgHeartbeat || m.From != 1 || m.To != 2 || m.Term != 3 || m.Cluster != 0 {
		t.Fatalf("version 1 heartbeat: %+v, %v, %v", m, ok, err)
	}
	withCluster := append([]byte{1, 0, 8}, uv(fFrom|fCluster)...)
	withCluster = append(withCluster, 1, 7)
	mustReject(t, d, withCluster, ErrMalformed)
	withCluster[0] = Version
	if m, ok, err := d.Feed(withCluster); err != nil || !ok || m.Cluster != 7 {
		t.Fatalf("version %d heartbeat with cluster 7: %+v, %v, %v", Version, m, ok, err)
	}

	e, err := NewEncoder(Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 40000) // incompressible: several fragments
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	in := raft.Message{Type: raft.MsgApp, From: 1, To: 2, Term: 5, Cluster: raft.MaxClusterID,
		Entries: []raft.Entry{{Index: 1, Term: 5, Data: data}}}
	frags, err := e.Encode(in)
	if err != nil || len(frags) < 2 {
		t.Fatalf("encode: %d fragments, %v", len(frags), err)
	}
	for i, f := range frags {
		if f[0] != Version {
			t.Fatalf("fragment %d has version %d", i, f[0])
		}
		m, ok, err := d.Feed(f)
		if err != nil {
			t.Fatal(err)
		}
		if ok && (m.Cluster != in.Cluster || len(m.Entries) != 1) {
			t.Fatalf("decoded %+v", m)
		}
	}
}
