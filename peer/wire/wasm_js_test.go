//go:build js

package wire

// The codec in the browser: every other test of this package runs under
// GOOS=js too (scripts/jstest.sh ./peer/wire); these check that a tab and
// a native member put the very same bytes on the wire, compressed or not,
// and that a tab decodes what a native member sent.

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// jsCorpus is what both platforms encode: every sendable type with random
// fields (snapshot chunks among them), demo MsgApps of 10 to 500 board
// operations, and a snapshot chunk that takes several fragments.
func jsCorpus() []raft.Message {
	rng := rand.New(rand.NewPCG(11, 12))
	var msgs []raft.Message
	for _, typ := range sendable() {
		for range 3 {
			msgs = append(msgs, randMessage(rng, typ))
		}
	}
	msgs = append(msgs, demoWorkload(42, 30)...)
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte(i * i >> 7)
	}
	msgs = append(msgs, raft.Message{Type: raft.MsgSnap, From: 1, To: 2, Term: 3,
		Chunk: &raft.SnapshotChunk{Meta: raft.SnapshotMeta{Index: 9, Term: 3}, Total: uint64(len(big)), Data: big}})
	return msgs
}

// Digests of the corpus's fragments, all concatenated, as a native
// (linux/amd64) build encodes them. A change of the format, or of the
// compressor's output, changes them: recompute them natively (the same
// loop as TestJSEncodingMatchesNative, without the build tag) and check
// that the change was meant.
const (
	nativeDigestCompressed   = "cbb1dffc4e9a6516f45e4a68e759853695d505f5952d49cbb69e038db3da6c47"
	nativeDigestUncompressed = "26d07134e6082ac2408b76685be39c7e8ca21fb691a7ba6ac764a11985a58af2"
)

func TestJSEncodingMatchesNative(t *testing.T) {
	for _, c := range []struct {
		name   string
		opts   Options
		digest string
	}{
		{"compressed", Options{}, nativeDigestCompressed},
		{"uncompressed", Options{CompressThreshold: -1}, nativeDigestUncompressed},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEncoder(t, c.opts)
			d := newDecoder(t, Options{})
			h := sha256.New()
			var raw, wire int
			for i, m := range jsCorpus() {
				frags, err := e.Encode(m)
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				for _, f := range frags {
					h.Write(f)
				}
				raw += entryBytes(m)
				wire += wireSize(frags)
				got, ok, err := feedAll(d, frags)
				if !ok || err != nil {
					t.Fatalf("message %d: decode ok=%v err=%v", i, ok, err)
				}
				if !reflect.DeepEqual(got, m) {
					t.Fatalf("message %d: decoded %+v, want %+v", i, got, m)
				}
			}
			sum := hex.EncodeToString(h.Sum(nil))
			t.Logf("%d bytes of entry data in %d bytes of fragments; sha256 %s", raw, wire, sum)
			if sum != c.digest {
				t.Errorf("fragments under wasm hash to %s, natively to %s", sum, c.digest)
			}
			cs := e.Stats().Snapshot()
			if c.opts.CompressThreshold == 0 && cs.CompressedSent == 0 {
				t.Error("nothing was sent compressed")
			}
			if c.opts.CompressThreshold < 0 && cs.CompressedSent != 0 {
				t.Errorf("%d messages sent compressed with compression off", cs.CompressedSent)
			}
		})
	}
}

// nativeFrame is a MsgApp of 20 demo operations (newDemoGen(5, 3),
// index 100) as a native build of wire version 1 encoded it: one
// zstd-compressed fragment (version 2 still reads it).
const nativeFrame = "" +
	"010002bf0801020707636301b10c28b52ffd603105a50700224c2623800931cff33c0f582635f40f9f7052fe7d49f48c" +
	"ac8da54cbe222291cabd7e4634f4650d8290712672184f5bf5d29a99f39a77490a415535798869bd87daba96da898e22" +
	"7ce8702e8eee2aca42b511cda0aa1acbaa46d161a2c8a869f39ab7a0aa9a73db77488d1f5fcb33809030ef330c496149" +
	"f8719427c114787f491e7e5cd31a39d6108cf723d2c28f33a9f13ea3e11207a59800080829205073c50e2292c82218dd" +
	"9b39b38936e2e8de8d4a22ca36d3cd66beb8c5d877e14356cb3ccac896f9c2df6293eebe1541d93053e8cd94d9a44644" +
	"f38870764682e48e97f0c45694bacc3b220834320d95695b5d9432cc"

func TestJSDecodesNativeFrame(t *testing.T) {
	frag, err := hex.DecodeString(nativeFrame)
	if err != nil {
		t.Fatal(err)
	}
	if len(frag) < 4 || frag[0] != VersionMin || frag[1] != 0 {
		t.Fatalf("the golden frame is not one whole fragment: % x", frag[:min(4, len(frag))])
	}
	want := demoMsgApp(newDemoGen(5, 3), 20, 100)
	d := newDecoder(t, Options{})
	got, ok, err := d.Feed(frag)
	if !ok || err != nil {
		t.Fatalf("Feed: ok=%v err=%v", ok, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
	if len(frag) >= entryBytes(want)/2 {
		t.Errorf("the native frame of %d bytes of operations is %d bytes: not compressed", entryBytes(want), len(frag))
	}
}
