package wire

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// randUint draws from the interesting magnitudes: zero, small, varint
// boundaries, huge.
func randUint(rng *rand.Rand) uint64 {
	switch rng.IntN(6) {
	case 0:
		return 0
	case 1:
		return uint64(rng.IntN(200))
	case 2:
		return 1<<(7*uint(1+rng.IntN(9))) - uint64(rng.IntN(2))
	case 3:
		return math.MaxUint64 - uint64(rng.IntN(3))
	default:
		return rng.Uint64() >> rng.IntN(64)
	}
}

// randBytes returns nil or n bytes, random or compressible.
func randBytes(rng *rand.Rand, maxLen int) []byte {
	n := rng.IntN(maxLen + 1)
	if n == 0 || rng.IntN(5) == 0 {
		return nil
	}
	b := make([]byte, n)
	if rng.IntN(2) == 0 {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	} else {
		copy(b, strings.Repeat(`{"op":"set","key":"px:1:2"} `, n/28+1))
	}
	return b
}

func randNodes(rng *rand.Rand) []raft.NodeID {
	n := rng.IntN(6)
	if n == 0 {
		return nil
	}
	ids := make([]raft.NodeID, n)
	for i := range ids {
		ids[i] = raft.NodeID(randUint(rng))
	}
	return ids
}

// randMessage returns a message of type t with every field drawn at random
// (payload fields included whatever the type: the codec carries them all).
func randMessage(rng *rand.Rand, t raft.MessageType) raft.Message {
	m := raft.Message{
		Type: t, From: raft.NodeID(randUint(rng)), To: raft.NodeID(randUint(rng)),
		Term: randUint(rng), LogTerm: randUint(rng), Index: randUint(rng), Commit: randUint(rng),
		Reject: rng.IntN(2) == 0, RejectHint: randUint(rng), HintTerm: randUint(rng),
		Context: randBytes(rng, 40),
	}
	if n := rng.IntN(30); n > 0 && rng.IntN(3) > 0 {
		m.Entries = make([]raft.Entry, n)
		term, index := randUint(rng), randUint(rng)
		for i := range m.Entries {
			if rng.IntN(4) == 0 {
				term, index = randUint(rng), randUint(rng) // not contiguous: deltas go negative
			}
			m.Entries[i] = raft.Entry{Term: term, Index: index, Type: raft.EntryType(rng.IntN(2)), Data: randBytes(rng, 300)}
			index++
		}
	}
	if rng.IntN(3) == 0 {
		m.Chunk = &raft.SnapshotChunk{
			Meta: raft.SnapshotMeta{Index: randUint(rng), Term: randUint(rng), ConfState: raft.ConfState{
				Voters: randNodes(rng), Learners: randNodes(rng), VotersOutgoing: randNodes(rng), LearnersNext: randNodes(rng)}},
			Offset: randUint(rng), Total: randUint(rng), Checksum: rng.Uint32(), Data: randBytes(rng, 3000),
		}
	}
	return m
}

// sendable lists the message types with a wire number.
func sendable() []raft.MessageType {
	var ts []raft.MessageType
	for _, w := range wireTypes {
		ts = append(ts, w.t)
	}
	return ts
}

// roundTrip encodes m, feeds its fragments to d and returns the message.
func roundTrip(t *testing.T, e *Encoder, d *Decoder, m raft.Message) raft.Message {
	t.Helper()
	frags, err := e.Encode(m)
	if err != nil {
		t.Fatalf("encode %v: %v", m, err)
	}
	for i, f := range frags {
		if len(f) > MaxFragmentSize {
			t.Fatalf("fragment %d of %d bytes", i, len(f))
		}
		got, ok, err := d.Feed(f)
		if err != nil {
			t.Fatalf("feed fragment %d of %d: %v", i, len(frags), err)
		}
		if ok != (i == len(frags)-1) {
			t.Fatalf("fragment %d of %d: ok=%v", i, len(frags), ok)
		}
		if ok {
			return got
		}
	}
	t.Fatal("no fragments")
	return raft.Message{}
}

func TestRoundTripEveryType(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d := newDecoder(t, Options{})
	// Default threshold, compress everything, compress nothing.
	for _, threshold := range []int{0, 1, -1} {
		e := newEncoder(t, Options{CompressThreshold: threshold})
		for _, typ := range sendable() {
			for range 200 {
				m := randMessage(rng, typ)
				if got := roundTrip(t, e, d, m); !reflect.DeepEqual(got, m) {
					t.Fatalf("%s round trip:\n got %+v\nwant %+v", typ, got, m)
				}
			}
		}
		c := e.Stats().Snapshot()
		t.Logf("threshold %d: compressed %d of %d messages", threshold, c.CompressedSent, c.MessagesSent)
		if threshold >= 0 && (c.CompressedSent == 0 || c.CompressedSent == c.MessagesSent) {
			t.Errorf("compressed %d of %d messages: want some of each", c.CompressedSent, c.MessagesSent)
		}
		if threshold < 0 && c.CompressedSent != 0 {
			t.Errorf("compressed %d messages with compression off", c.CompressedSent)
		}
	}
}

func TestRoundTripAllFieldsMax(t *testing.T) {
	e := newEncoder(t, Options{})
	d := newDecoder(t, Options{})
	const M = math.MaxUint64
	ids := []raft.NodeID{M, 1, 0}
	for _, typ := range sendable() {
		m := raft.Message{Type: typ, From: M, To: M, Term: M, LogTerm: M, Index: M, Commit: M, Reject: true,
			RejectHint: M, HintTerm: M, Context: []byte("ctx"),
			Entries: []raft.Entry{{Term: M, Index: M, Type: raft.EntryConfChange, Data: []byte{0}}, {Term: 0, Index: 0}, {Term: M, Index: 1}},
			Chunk: &raft.SnapshotChunk{Meta: raft.SnapshotMeta{Index: M, Term: M, ConfState: raft.ConfState{
				Voters: ids, Learners: ids, VotersOutgoing: ids, LearnersNext: ids}},
				Offset: M, Total: M, Checksum: math.MaxUint32, Data: []byte{1, 2, 3}},
		}
		if got := roundTrip(t, e, d, m); !reflect.DeepEqual(got, m) {
			t.Fatalf("%s round trip:\n got %+v\nwant %+v", typ, got, m)
		}
		zero := raft.Message{Type: typ}
		if got := roundTrip(t, e, d, zero); !reflect.DeepEqual(got, zero) {
			t.Fatalf("%s zero round trip: got %+v", typ, got)
		}
	}
}

// An empty snapshot chunk (MsgSnapResp acknowledges with only an offset)
// stays a non-nil chunk.
func TestRoundTripEmptyChunk(t *testing.T) {
	e := newEncoder(t, Options{})
	d := newDecoder(t, Options{})
	m := raft.Message{Type: raft.MsgSnapResp, From: 2, To: 1, Term: 3, Chunk: &raft.SnapshotChunk{}}
	if got := roundTrip(t, e, d, m); !reflect.DeepEqual(got, m) {
		t.Fatalf("got %+v", got)
	}
}

func TestHeartbeatIsSmall(t *testing.T) {
	e := newEncoder(t, Options{})
	frags, err := e.Encode(raft.Message{Type: raft.MsgHeartbeat, From: 1, To: 2, Term: 9, Commit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	// header 2 + type 1 + mask 1 + from 1 + to 1 + term 1 + commit 3
	if len(frags) != 1 || len(frags[0]) != 10 {
		t.Fatalf("heartbeat: %d fragments, %d bytes", len(frags), len(frags[0]))
	}
}

// The decoded message must not alias the fragment (the transport may reuse
// its buffer) nor the Decoder's buffers.
func TestDecodedMessageOwnsItsMemory(t *testing.T) {
	for _, fragSize := range []int{MaxFragmentSize, 64} {
		for _, compress := range []int{0, -1} {
			e := newEncoder(t, Options{CompressThreshold: compress})
			e.fragSize = fragSize
			d := newDecoder(t, Options{})
			m := raft.Message{Type: raft.MsgApp, Context: []byte("context"), Entries: []raft.Entry{
				{Term: 1, Index: 1, Data: bytes.Repeat([]byte("abc"), 200)}},
				Chunk: &raft.SnapshotChunk{Data: bytes.Repeat([]byte("xyz"), 200)}}
			frags, err := e.Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			var got raft.Message
			for _, f := range frags {
				got, _, err = d.Feed(f)
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range frags {
				clear(f)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("fragSize %d compress %d: message changed with its fragments", fragSize, compress)
			}
			// Appending to a field must not overwrite its neighbour.
			_ = append(got.Entries[0].Data, "!!!!"...)
			_ = append(got.Context, "!!!!"...)
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("fragSize %d compress %d: fields share capacity", fragSize, compress)
			}
		}
	}
}

func TestStatsCounted(t *testing.T) {
	var st Stats
	e := newEncoder(t, Options{Stats: &st})
	d := newDecoder(t, Options{Stats: &st})
	g := newDemoGen(3, 4)
	noise := make([]byte, 40000) // incompressible: three fragments, sent raw
	rand.NewChaCha8([32]byte{}).Read(noise)
	msgs := []raft.Message{
		{Type: raft.MsgHeartbeat, From: 1, To: 2},
		demoMsgApp(g, 100, 1),
		{Type: raft.MsgSnap, Chunk: &raft.SnapshotChunk{Data: noise}},
	}
	var frags, wire int
	for _, m := range msgs {
		fs, err := e.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			frags++
			wire += len(f)
			if _, _, err := d.Feed(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	d.Feed([]byte{9, 0})             // unknown version
	d.Feed([]byte{Version, 0, 0, 0}) // unknown type
	d.Feed([]byte{Version})          // truncated
	c := st.Snapshot()
	want := Counters{
		MessagesSent: 3, FragmentsSent: uint64(frags), WireBytesSent: uint64(wire),
		MessagesReceived: 3, FragmentsReceived: uint64(frags + 3), WireBytesReceived: uint64(wire + 7),
	}
	want.Rejected[ReasonVersion] = 1
	want.Rejected[ReasonType] = 1
	want.Rejected[ReasonMalformed] = 1
	if c.CompressedSent < 1 {
		t.Errorf("CompressedSent = %d, want ≥ 1", c.CompressedSent)
	}
	if c.RawBytesSent <= c.WireBytesSent || c.RawBytesReceived != c.RawBytesSent {
		t.Errorf("raw bytes sent %d received %d, wire %d", c.RawBytesSent, c.RawBytesReceived, c.WireBytesSent)
	}
	c.CompressedSent, c.RawBytesSent, c.RawBytesReceived = 0, 0, 0
	if c != want {
		t.Errorf("counters\n got %+v\nwant %+v", c, want)
	}
	if c.TotalRejected() != 3 {
		t.Errorf("TotalRejected = %d", c.TotalRejected())
	}
}
