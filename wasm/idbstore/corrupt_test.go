//go:build js && wasm

package idbstore

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/raft"
)

// corruptible makes a store with a snapshot, a hard state and entries
// records at 5, 9 and 13 (entries 5..15; the first straddles the snapshot
// at 6), and closes it.
func corruptible(t *testing.T) string {
	t.Helper()
	name := testName(t)
	s := mustOpen(t, name)
	defer s.Close()
	for _, rd := range []raft.Ready{
		{Entries: ents(1, 4, 1), HardState: raft.HardState{Term: 1, Vote: 1, Commit: 4}},
		{Entries: ents(5, 8, 1), HardState: raft.HardState{Term: 1, Vote: 1, Commit: 8}},
		{Entries: ents(9, 12, 2), HardState: raft.HardState{Term: 2, Vote: 1, Commit: 8}},
		{Entries: ents(13, 15, 2)},
	} {
		mustSave(t, s, rd)
	}
	if err := s.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 6, Term: 1, ConfState: raft.ConfState{Voters: []raft.NodeID{1, 2, 3}}}, Data: []byte("image")}); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestCorruptRecords(t *testing.T) {
	type damage func(r *raw)
	flip := func(st string, k any, at int) damage {
		return func(r *raw) {
			b := r.get(st, k)
			b[(at+len(b))%len(b)] ^= 0x10
			r.put(st, k, b)
		}
	}
	cut := func(st string, k any, n int) damage {
		return func(r *raw) {
			b := r.get(st, k)
			r.put(st, k, b[:len(b)-n])
		}
	}
	// resealed changes a record's payload and frames it again with valid
	// checksums, as a bug (not the disk) would leave it.
	resealed := func(st string, k any, f func([]byte) []byte) damage {
		return func(r *raw) {
			b := r.get(st, k)
			p := b[record.HeaderSize : record.HeaderSize+binary.LittleEndian.Uint32(b)]
			r.put(st, k, record.AppendOne(nil, record.Type(b[4]), func(x []byte) []byte { return append(x, f(p)...) }))
		}
	}
	for _, c := range []struct {
		name   string
		damage damage
		record string // what the error must name
	}{
		{"flipped byte in entries", flip(storeLog, uint64(9), 30), "entries at key 9"},
		{"flipped checksum of entries", flip(storeLog, uint64(13), 9), "entries at key 13"},
		{"flipped padding of entries", flip(storeLog, uint64(13), -1), "entries at key 13"},
		{"truncated entries", cut(storeLog, uint64(5), 7), "entries at key 5"},
		{"empty value", func(r *raw) { r.put(storeLog, uint64(9), []byte{}) }, "entries at key 9"},
		{"string value", func(r *raw) { r.put(storeLog, uint64(9), "entries") }, "entries at key 9"},
		{"number value", func(r *raw) { r.put(storeMeta, keyHard, 42) }, "hard state"},
		{"string key in the log", func(r *raw) { r.put(storeLog, "x", encodeRun(nil, ents(16, 16, 2))) }, "log"},
		{"fractional key", func(r *raw) { r.put(storeLog, 16.5, encodeRun(nil, ents(16, 16, 2))) }, "log"},
		{"record under the wrong key", func(r *raw) {
			r.put(storeLog, uint64(10), r.get(storeLog, uint64(9)))
			r.delete(storeLog, uint64(9))
		}, "entries at key 10"},
		{"missing record", func(r *raw) { r.delete(storeLog, uint64(9)) }, "entries 9 to 12 are missing"},
		{"overlapping record", func(r *raw) { r.put(storeLog, uint64(11), encodeRun(nil, ents(11, 11, 2))) }, "overlaps"},
		{"log after the snapshot", func(r *raw) { r.delete(storeLog, uint64(5)) }, "begins at 9, after the snapshot at 6"},
		{"record covered by the snapshot", func(r *raw) { r.put(storeLog, uint64(2), encodeRun(nil, ents(2, 4, 1))) }, "covered by the snapshot"},
		{"hard state in the log", func(r *raw) { r.put(storeLog, uint64(9), encodeHard(nil, raft.HardState{Term: 1})) }, "hard state record where the entries record belongs"},
		{"flipped byte in hard state", flip(storeMeta, keyHard, 2), "hard state"},
		{"flipped byte in snapshot", flip(storeMeta, keySnap, 3), "snapshot"},
		{"truncated snapshot", cut(storeMeta, keySnap, 9), "snapshot"},
		{"snapshot data longer than the record", resealed(storeMeta, keySnap, func(b []byte) []byte { return b[:len(b)-2] }), "cut short"},
		{"trailing bytes in hard state", resealed(storeMeta, keyHard, func(b []byte) []byte { return append(b, 7, 0) }), "unexpected bytes"},
		{"huge entry count", resealed(storeLog, uint64(13), func(p []byte) []byte {
			return append([]byte{13, 0xff, 0xff, 0xff, 0xff, 0x0f}, p[2:]...)
		}), "does not fit"},
		{"entries beyond number keys", func(r *raw) {
			r.put(storeLog, uint64(maxIndex), encodeRun(nil, []raft.Entry{{Index: maxIndex, Term: 2}, {Index: maxIndex + 1, Term: 2}}))
		}, "beyond the largest index"},
		{"snapshot at 0", func(r *raw) { r.put(storeMeta, keySnap, encodeSnap(nil, raft.Snapshot{})) }, "snapshot at index 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := corruptible(t)
			r := openRaw(t, name)
			c.damage(r)
			r.close()
			s, err := Open(context.Background(), name)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			var ce *CorruptError
			if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
				t.Fatalf("Open: %v, want a *CorruptError", err)
			}
			if !strings.Contains(err.Error(), c.record) || ce.Name != name {
				t.Fatalf("Open: %v, want it to name %q and the store", err, c.record)
			}
			t.Logf("%v", err)
		})
	}
}

// TestCorruptibleIsIntact checks the store the corruption tests start from.
func TestCorruptibleIsIntact(t *testing.T) {
	name := corruptible(t)
	s := mustOpen(t, name)
	defer s.Close()
	if es, _ := s.Entries(); span(es) != "[7..15]" {
		t.Fatalf("entries %s, want [7..15]", span(es))
	}
	if got := openRaw(t, name).logKeys(); len(got) != 3 || got[0] != 5 {
		t.Fatalf("records at %v, want 5, 9, 13", got)
	}
}

// TestRandomDamage flips random bits of every record: Open must fail with
// a *CorruptError every time (CRC-32C catches any burst of up to 32 bits).
func TestRandomDamage(t *testing.T) {
	name := corruptible(t)
	rng := rand.New(rand.NewPCG(3, 4))
	targets := []struct {
		st string
		k  any
	}{{storeMeta, keyHard}, {storeMeta, keySnap}, {storeLog, uint64(5)}, {storeLog, uint64(9)}, {storeLog, uint64(13)}}
	r := openRaw(t, name)
	for i := range 60 {
		tg := targets[i%len(targets)]
		orig := r.get(tg.st, tg.k)
		b := append([]byte(nil), orig...)
		at := rng.IntN(len(b))
		b[at] ^= byte(1 + rng.IntN(255))
		r.put(tg.st, tg.k, b)
		if s, err := Open(context.Background(), name); !errors.Is(err, ErrCorrupt) {
			if err == nil {
				s.Close()
			}
			t.Fatalf("%s[%v] byte %d flipped: Open = %v, want a corruption error", tg.st, tg.k, at, err)
		}
		r.put(tg.st, tg.k, orig)
	}
	s := mustOpen(t, name)
	s.Close()
}
