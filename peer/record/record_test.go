package record

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/tabraft/tabraft/peer/storagetest"
	"github.com/tabraft/tabraft/raft"
)

func TestPayloadRoundTrip(t *testing.T) {
	es := []raft.Entry{
		{Index: 1 << 40, Term: math.MaxUint64, Type: 255, Data: []byte{0}},
		{Index: 1<<40 + 1, Term: 0},
		{Index: 1<<40 + 2, Term: 7, Data: make([]byte, 300)},
	}
	got, err := DecodeEntries(AppendEntries(nil, es))
	if err != nil {
		t.Fatal(err)
	}
	if d := (storagetest.View{Ents: got}).Diff(storagetest.View{Ents: es}); d != "" {
		t.Fatal(d)
	}
	if got[1].Data != nil {
		t.Fatalf("entry without data decodes to %#v, want nil", got[1].Data)
	}
	last := []raft.Entry{{Index: math.MaxUint64, Term: 1}}
	if got, err := DecodeEntries(AppendEntries(nil, last)); err != nil || got[0].Index != math.MaxUint64 {
		t.Fatalf("entry at the largest index: %+v, %v", got, err)
	}

	hs := raft.HardState{Term: math.MaxUint64, Vote: math.MaxUint64, Commit: math.MaxUint64}
	if got, err := DecodeHardState(AppendHardState(nil, hs)); err != nil || got != hs {
		t.Fatalf("hard state %+v, %v", got, err)
	}
	hs.Cluster = math.MaxUint64
	if got, err := DecodeHardState(AppendHardState(nil, hs)); err != nil || got != hs {
		t.Fatalf("hard state with a cluster id %+v, %v", got, err)
	}
	// A hard state written before cluster ids (three varints) reads as
	// cluster 0; an explicit zero id is refused (one encoding per state).
	if got, err := DecodeHardState([]byte{3, 2, 1}); err != nil || got != (raft.HardState{Term: 3, Vote: 2, Commit: 1}) {
		t.Fatalf("old hard state: %+v, %v", got, err)
	}
	if _, err := DecodeHardState([]byte{3, 2, 1, 0}); err == nil {
		t.Fatal("explicit zero cluster id accepted")
	}

	sn := raft.Snapshot{Meta: raft.SnapshotMeta{Index: 9, Term: 8, ConfState: raft.ConfState{
		Voters: []raft.NodeID{1, math.MaxUint64}, Learners: []raft.NodeID{2}, VotersOutgoing: []raft.NodeID{3, 4}, LearnersNext: []raft.NodeID{4}}}, Data: []byte("x")}
	gs, err := DecodeSnapshot(AppendSnapshot(nil, sn))
	if err != nil {
		t.Fatal(err)
	}
	if d := (storagetest.View{Snap: gs}).Diff(storagetest.View{Snap: sn}); d != "" {
		t.Fatal(d)
	}
}

// TestDecodeCopies: what is decoded does not alias the payload.
func TestDecodeCopies(t *testing.T) {
	p := AppendEntries(nil, storagetest.Entries(1, 3, 1))
	es, err := DecodeEntries(p)
	if err != nil {
		t.Fatal(err)
	}
	q := AppendSnapshot(nil, raft.Snapshot{Meta: raft.SnapshotMeta{Index: 1, Term: 1}, Data: []byte("image")})
	sn, err := DecodeSnapshot(q)
	if err != nil {
		t.Fatal(err)
	}
	clear(p)
	clear(q)
	if string(es[2].Data) != "entry 3 term 1" || string(sn.Data) != "image" {
		t.Fatalf("decoded data changed with the payload: %q, %q", es[2].Data, sn.Data)
	}
	// Appending to one entry's data does not write over the next one's.
	_ = append(es[0].Data, 'x')
	if string(es[1].Data) != "entry 2 term 1" {
		t.Fatalf("entry 2 data %q", es[1].Data)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		what   string
		decode func([]byte) error
		p      []byte
		want   string
	}{
		{"no entries", decodeEntries, []byte{1, 0}, "entry count 0"},
		{"huge count", decodeEntries, []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0, 0}, "does not fit"},
		{"index 0", decodeEntries, []byte{0, 1, 1, 0, 0}, "out of range"},
		{"index overflow", decodeEntries, append(binary.AppendUvarint(nil, math.MaxUint64), 2, 1, 0, 0, 1, 0, 0), "out of range"},
		{"data cut short", decodeEntries, []byte{1, 1, 1, 0, 5, 'a'}, "cut short"},
		{"trailing bytes", decodeEntries, []byte{1, 1, 1, 0, 0, 9}, "unexpected bytes"},
		{"hard state cut short", decodeHard, []byte{1, 2}, "cut short"},
		{"varint overflow", decodeHard, bytes.Repeat([]byte{0xff}, 11), "overflows"},
		{"snapshot at 0", decodeSnap, AppendSnapshot(nil, raft.Snapshot{}), "index 0"},
		{"too many ids", decodeSnap, []byte{1, 1, 200, 1, 2}, "cut short"},
	} {
		err := c.decode(c.p)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.what, err, c.want)
		}
	}
}

func decodeEntries(p []byte) error { _, err := DecodeEntries(p); return err }
func decodeHard(p []byte) error    { _, err := DecodeHardState(p); return err }
func decodeSnap(p []byte) error    { _, err := DecodeSnapshot(p); return err }

func TestFraming(t *testing.T) {
	rec := AppendOne(nil, TypeHardState, func(b []byte) []byte { return AppendHardState(b, raft.HardState{Term: 3}) })
	if len(rec)%Align != 0 || len(rec) != HeaderSize+Align {
		t.Fatalf("record of %d bytes", len(rec))
	}
	if p, err := ParseOne(rec, TypeHardState, 1<<20); err != nil || !bytes.Equal(p, []byte{3, 0, 0}) {
		t.Fatalf("ParseOne: %v, %v", p, err)
	}
	unflagged, start := Begin(nil)
	unflagged = Finish(AppendHardState(unflagged, raft.HardState{}), start, TypeHardState, 0)
	for _, c := range []struct {
		what string
		b    []byte
		typ  Type
		want string
	}{
		{"zeros", make([]byte, 64), TypeHardState, "header checksum"},
		{"cut header", rec[:10], TypeHardState, "cut short"},
		{"cut payload", rec[:HeaderSize+4], TypeHardState, "runs past the end"},
		{"wrong type", rec, TypeEntries, "hard state record where the entries record belongs"},
		{"trailing bytes", append(rec[:len(rec):len(rec)], make([]byte, 8)...), TypeHardState, "unexpected bytes"},
		{"not a batch end", unflagged, TypeHardState, "does not end its batch"},
		{"flipped payload", flip(rec, HeaderSize), TypeHardState, "payload checksum"},
		{"flipped padding", flip(rec, len(rec)-1), TypeHardState, "payload checksum"},
		{"reserved bits", reheader(rec, func(h []byte) { h[6] = 1 }), TypeHardState, "reserved"},
		{"unknown type", reheader(rec, func(h []byte) { h[4] = 9 }), TypeHardState, "unknown record type 9"},
	} {
		if _, err := ParseOne(c.b, c.typ, 1<<20); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.what, err, c.want)
		}
	}
	big := AppendOne(nil, TypeSnapshot, func(b []byte) []byte {
		return AppendSnapshot(b, raft.Snapshot{Meta: raft.SnapshotMeta{Index: 1}, Data: make([]byte, 100)})
	})
	if _, err := ParseOne(big, TypeSnapshot, 50); err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("over the limit: %v", err)
	}
}

func flip(b []byte, at int) []byte {
	c := bytes.Clone(b)
	c[at] ^= 0x10
	return c
}

// reheader changes a header with f and checksums it again.
func reheader(b []byte, f func([]byte)) []byte {
	c := bytes.Clone(b)
	f(c[:HeaderSize])
	binary.LittleEndian.PutUint32(c[12:], Checksum(c[:12]))
	return c
}

func TestSplitEntries(t *testing.T) {
	es := make([]raft.Entry, 100)
	for i := range es {
		es[i] = raft.Entry{Index: uint64(i + 1), Term: 1, Data: make([]byte, 1000)}
	}
	es[50].Data = make([]byte, 10000) // larger than a run: alone
	runs := SplitEntries(es, 4096)
	n := 0
	for _, r := range runs {
		if size := len(AppendEntries(nil, r)); size > 4096 && len(r) > 1 {
			t.Fatalf("run %s of %d bytes", storagetest.Span(r), size)
		}
		if r[0].Index != uint64(n+1) {
			t.Fatalf("run %s follows entry %d", storagetest.Span(r), n)
		}
		n += len(r)
	}
	if n != len(es) || len(runs) < 25 {
		t.Fatalf("%d entries in %d runs", n, len(runs))
	}
}

// FuzzDecode feeds the payload decoders arbitrary bytes: they return
// errors, never panic, and what one accepts encodes to a payload that
// decodes to the same thing.
func FuzzDecode(f *testing.F) {
	f.Add(AppendEntries(nil, storagetest.Entries(7, 9, 3)))
	f.Add(AppendHardState(nil, raft.HardState{Term: 3, Vote: 2, Commit: 9}))
	f.Add(AppendSnapshot(nil, raft.Snapshot{Meta: raft.SnapshotMeta{Index: 4, Term: 2,
		ConfState: raft.ConfState{Voters: []raft.NodeID{1, 2}, LearnersNext: []raft.NodeID{3}}}, Data: []byte("data")}))
	f.Fuzz(func(t *testing.T, p []byte) {
		if es, err := DecodeEntries(p); err == nil {
			again, err := DecodeEntries(AppendEntries(nil, es))
			if err != nil {
				t.Fatal(err)
			}
			if d := (storagetest.View{Ents: again}).Diff(storagetest.View{Ents: es}); d != "" {
				t.Fatal(d)
			}
		}
		if hs, err := DecodeHardState(p); err == nil {
			if again, err := DecodeHardState(AppendHardState(nil, hs)); err != nil || again != hs {
				t.Fatalf("%+v, %v", again, err)
			}
		}
		if sn, err := DecodeSnapshot(p); err == nil {
			again, err := DecodeSnapshot(AppendSnapshot(nil, sn))
			if err != nil {
				t.Fatal(err)
			}
			if d := (storagetest.View{Snap: again}).Diff(storagetest.View{Snap: sn}); d != "" {
				t.Fatal(d)
			}
		}
	})
}
