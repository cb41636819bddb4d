package wire

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// checkReencode checks that a decoded message encodes and decodes back to
// itself.
func checkReencode(t *testing.T, m raft.Message, opts Options) {
	t.Helper()
	e := newEncoder(t, opts)
	d := newDecoder(t, opts)
	frags, err := e.Encode(m)
	if errors.Is(err, ErrTooLarge) {
		return // compressed, it fitted; re-encoded raw, it may not
	}
	if err != nil {
		t.Fatalf("re-encode %v: %v", m, err)
	}
	got, ok, err := feedAll(d, frags)
	if err != nil || !ok {
		t.Fatalf("decode re-encoded %v: ok=%v err=%v", m, ok, err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("re-encoded message decodes differently:\n got %+v\nwant %+v", got, m)
	}
}

// fuzzFrames packs fragments as the fuzz input: each a 2-byte big-endian
// length and its bytes.
func fuzzFrames(frags ...[]byte) []byte {
	var b []byte
	for _, f := range frags {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

// FuzzDecode feeds arbitrary fragments to a Decoder. It must never panic nor
// hold more than its limits; every error must carry a reason; every message
// it decodes must re-encode and decode to itself.
func FuzzDecode(f *testing.F) {
	opts := Options{Limits: Limits{MaxMessageSize: 1 << 20, MaxDecompressed: 1 << 20, MaxEntries: 1000, MaxNodes: 100}}
	rng := rand.New(rand.NewPCG(11, 11))
	e := newEncoder(f, opts)
	for i, typ := range sendable() {
		e.fragSize = MaxFragmentSize
		if i%3 == 0 {
			e.fragSize = 48 // small fragments make split seeds small
		}
		frags, err := e.Encode(randMessage(rng, typ))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fuzzFrames(frags...))
	}
	g := newDemoGen(1, 3)
	e.fragSize = MaxFragmentSize
	frags, _ := e.Encode(demoMsgApp(g, 20, 5))
	f.Add(fuzzFrames(frags...))
	f.Add(fuzzFrames([]byte{Version, 0, 8, 0}, []byte{Version, flagSplit, 0, 0, 0, 1, 0, 1, 0, 2, 8}))
	f.Add(fuzzFrames(frame([]byte{2}, uv(fEntries), []byte{payloadZstd}, uv(100), rleBomb(1<<20, 100))))

	d := newDecoder(f, opts)
	bound := opts.Limits.withDefaults().maxBody()
	f.Fuzz(func(t *testing.T, data []byte) {
		d.Reset()
		for len(data) > 0 {
			n := len(data)
			if n >= 2 {
				n = min(int(binary.BigEndian.Uint16(data)), n-2)
				data = data[2:]
			}
			frag := data[:n]
			data = data[n:]
			m, ok, err := d.Feed(frag)
			if d.Pending() > bound {
				t.Fatalf("%d bytes pending, bound %d", d.Pending(), bound)
			}
			if err != nil {
				if _, known := ReasonOf(err); !known {
					t.Fatalf("error without a reason: %v", err)
				}
				continue
			}
			if ok {
				checkReencode(t, m, opts)
			}
		}
	})
}
