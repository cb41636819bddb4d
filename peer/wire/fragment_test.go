package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

func noise(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// snapOfBody returns a MsgSnap whose body, uncompressed, is exactly size bytes.
func snapOfBody(t *testing.T, e *Encoder, size int) raft.Message {
	t.Helper()
	m := raft.Message{Type: raft.MsgSnap, From: 1, To: 2, Term: 3, Chunk: &raft.SnapshotChunk{Total: 1 << 30}}
	n := size
	for range 4 {
		m.Chunk.Data = noise(n, 1)
		body, _, _, err := e.encodeBody(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) == size {
			return m
		}
		n += size - len(body)
	}
	t.Fatalf("no message has a body of %d bytes", size)
	return m
}

func TestFragmentBoundaries(t *testing.T) {
	e := newEncoder(t, Options{CompressThreshold: -1})
	d := newDecoder(t, Options{})
	var msgs []raft.Message
	// Entry data of these sizes (incompressible)...
	for _, n := range []int{0, 1, 16383, 16384, 16385, 1 << 20} {
		var data []byte // a decoded empty field is nil
		if n > 0 {
			data = noise(n, 2)
		}
		msgs = append(msgs, raft.Message{Type: raft.MsgApp, From: 1, To: 2, Term: 1,
			Entries: []raft.Entry{{Term: 1, Index: 1, Data: data}}})
	}
	// ...and bodies on either side of the fragment boundaries.
	for _, size := range []int{
		MaxFragmentSize - singleHeaderLen, MaxFragmentSize - singleHeaderLen + 1,
		2 * fragmentPayload, 2*fragmentPayload + 1, 3*fragmentPayload - 1,
	} {
		msgs = append(msgs, snapOfBody(t, e, size))
	}
	for _, m := range msgs {
		body, _, _, err := e.encodeBody(m)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.Clone(body)
		frags, err := e.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		wantFrags := 1
		if len(body) > MaxFragmentSize-singleHeaderLen {
			wantFrags = (len(body) + fragmentPayload - 1) / fragmentPayload
		}
		if len(frags) != wantFrags {
			t.Fatalf("body of %d bytes: %d fragments, want %d", len(body), len(frags), wantFrags)
		}
		var joined []byte
		for i, f := range frags {
			if len(f) > MaxFragmentSize {
				t.Fatalf("body of %d bytes: fragment %d has %d bytes", len(body), i, len(f))
			}
			if len(frags) > 1 {
				if i < len(frags)-1 && len(f) != MaxFragmentSize {
					t.Errorf("body of %d bytes: fragment %d of %d has %d bytes, want full", len(body), i, len(frags), len(f))
				}
				joined = append(joined, f[multiHeaderLen:]...)
			} else {
				joined = append(joined, f[singleHeaderLen:]...)
			}
		}
		if !bytes.Equal(joined, body) {
			t.Fatalf("body of %d bytes: fragments do not join into the body", len(body))
		}
		if got := roundTrip(t, e, d, m); !reflect.DeepEqual(got, m) {
			t.Fatalf("body of %d bytes: round trip differs", len(body))
		}
	}
}

// split encodes m with small fragments so tests can play with sequences.
func split(t *testing.T, e *Encoder, m raft.Message) [][]byte {
	t.Helper()
	frags, err := e.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) < 3 {
		t.Fatalf("want at least 3 fragments, got %d", len(frags))
	}
	return frags
}

func feedAll(d *Decoder, frags [][]byte) (raft.Message, bool, error) {
	for i, f := range frags {
		m, ok, err := d.Feed(f)
		if err != nil || ok || i == len(frags)-1 {
			return m, ok, err
		}
	}
	return raft.Message{}, false, nil
}

func TestReassemblyCutShort(t *testing.T) {
	e := newEncoder(t, Options{CompressThreshold: -1})
	e.fragSize = 100
	big := raft.Message{Type: raft.MsgApp, Term: 5, Entries: []raft.Entry{{Term: 5, Index: 9, Data: noise(500, 3)}}}
	small := raft.Message{Type: raft.MsgHeartbeat, From: 1, To: 2, Term: 5}

	t.Run("new message id", func(t *testing.T) {
		d := newDecoder(t, Options{})
		cut := split(t, e, big)
		next := split(t, e, big)
		feedAll(d, cut[:2])
		m, ok, err := feedAll(d, next)
		if err != nil || !ok || !reflect.DeepEqual(m, big) {
			t.Fatalf("after a cut message: ok=%v err=%v", ok, err)
		}
		if c := d.Stats().Snapshot(); c.PartialsDiscarded != 1 || c.TotalRejected() != 0 {
			t.Fatalf("counters %+v", c)
		}
	})
	t.Run("single fragment message", func(t *testing.T) {
		d := newDecoder(t, Options{})
		cut := split(t, e, big)
		feedAll(d, cut[:2])
		frags, _ := e.Encode(small)
		m, ok, err := d.Feed(frags[0])
		if err != nil || !ok || !reflect.DeepEqual(m, small) {
			t.Fatalf("ok=%v err=%v", ok, err)
		}
		if d.Pending() != 0 || d.Stats().Snapshot().PartialsDiscarded != 1 {
			t.Fatalf("pending %d, counters %+v", d.Pending(), d.Stats().Snapshot())
		}
	})
	t.Run("reset", func(t *testing.T) {
		d := newDecoder(t, Options{})
		frags := split(t, e, big)
		feedAll(d, frags[:2])
		d.Reset()
		if _, _, err := d.Feed(frags[2]); !errors.Is(err, ErrSequence) {
			t.Fatalf("fragment after Reset: %v", err)
		}
		if c := d.Stats().Snapshot(); c.PartialsDiscarded != 1 || c.Rejected[ReasonSequence] != 1 {
			t.Fatalf("counters %+v", c)
		}
	})
}

func TestReassemblyOutOfSequence(t *testing.T) {
	e := newEncoder(t, Options{CompressThreshold: -1})
	e.fragSize = 100
	big := raft.Message{Type: raft.MsgApp, Term: 5, Entries: []raft.Entry{{Term: 5, Index: 9, Data: noise(500, 4)}}}
	frags := split(t, e, big)
	n := len(frags)
	other := split(t, e, big) // another message id
	withCount := func(f []byte, count uint16) []byte {
		f = bytes.Clone(f)
		f[8], f[9] = byte(count>>8), byte(count)
		return f
	}
	// One error per broken message: the rest of it is skipped quietly.
	for _, tc := range []struct {
		name string
		seq  [][]byte
		errs int
	}{
		{"orphan continuation", frags[1:], 1},
		{"duplicate", append([][]byte{frags[0], frags[1], frags[1]}, frags[2:]...), 1},
		{"skipped fragment", append([][]byte{frags[0]}, frags[2:]...), 1},
		{"count changes", append([][]byte{frags[0], withCount(frags[1], uint16(n+1))}, frags[2:]...), 1},
		// Two messages broken: the foreign one and the one it interrupted.
		{"foreign id", append([][]byte{frags[0], other[1]}, frags[2:]...), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDecoder(t, Options{})
			var errs int
			for _, f := range tc.seq {
				_, ok, err := d.Feed(f)
				if ok {
					t.Fatal("decoded a message from a broken sequence")
				}
				if err != nil {
					errs++
					if !errors.Is(err, ErrSequence) {
						t.Fatalf("error %v, want ErrSequence", err)
					}
				}
			}
			c := d.Stats().Snapshot()
			if errs != tc.errs || c.Rejected[ReasonSequence] != uint64(tc.errs) {
				t.Fatalf("%d errors, counters %+v", errs, c)
			}
			if d.Pending() != 0 {
				t.Fatalf("pending %d", d.Pending())
			}
			// The connection carries on.
			if m, ok, err := feedAll(d, split(t, e, big)); err != nil || !ok || !reflect.DeepEqual(m, big) {
				t.Fatalf("next message: ok=%v err=%v", ok, err)
			}
		})
	}
}

func TestReassemblerMemoryBounded(t *testing.T) {
	lim := Limits{MaxMessageSize: 64 << 10}
	big := newEncoder(t, Options{CompressThreshold: -1, Limits: Limits{MaxMessageSize: 8 << 20}})
	d := newDecoder(t, Options{Limits: lim})
	bound := lim.withDefaults().maxBody()

	// Too many fragments: rejected at the first one, the rest skipped.
	m := raft.Message{Type: raft.MsgSnap, Chunk: &raft.SnapshotChunk{Data: noise(200<<10, 5)}}
	frags, err := big.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frags {
		_, ok, err := d.Feed(f)
		if ok || (i == 0) != errors.Is(err, ErrTooLarge) || (i > 0 && err != nil) {
			t.Fatalf("fragment %d: ok=%v err=%v", i, ok, err)
		}
		if d.Pending() != 0 {
			t.Fatalf("fragment %d: %d bytes pending", i, d.Pending())
		}
	}

	// Few enough fragments but too many bytes: rejected when the total
	// passes the limit, never holding more.
	m.Chunk.Data = noise(lim.withDefaults().MaxFragments*fragmentPayload-100, 6)
	frags, err = big.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	var rejected bool
	for _, f := range frags {
		_, ok, err := d.Feed(f)
		if ok {
			t.Fatal("decoded an oversized message")
		}
		rejected = rejected || errors.Is(err, ErrTooLarge)
		if d.Pending() > bound {
			t.Fatalf("%d bytes pending, bound %d", d.Pending(), bound)
		}
	}
	if !rejected {
		t.Fatal("oversized message not rejected")
	}

	// An endless stream of messages cut short holds one partial at a time.
	for range 50 {
		for _, f := range frags[:2] {
			if _, _, err := d.Feed(f); err != nil {
				t.Fatal(err)
			}
		}
		if d.Pending() != 2*fragmentPayload {
			t.Fatalf("%d bytes pending", d.Pending())
		}
	}
	if c := d.Stats().Snapshot(); c.PartialsDiscarded < 49 {
		t.Fatalf("counters %+v", c)
	}
}
