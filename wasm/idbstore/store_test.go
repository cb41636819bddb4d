//go:build js && wasm

package idbstore

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
	"strings"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

func TestOverwriteConflictingSuffix(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	defer func() { s.Close() }()
	m := raft.NewMemoryStorage()
	save := func(rd raft.Ready) {
		t.Helper()
		mustSave(t, s, rd)
		mustSave(t, m, rd)
		checkView(t, "after save", s, viewOf(t, m))
		s = reopen(t, s)
		checkView(t, "after reopen", s, viewOf(t, m))
	}
	// Records begin at 1, 4 and 8.
	save(raft.Ready{Entries: ents(1, 3, 1), HardState: raft.HardState{Term: 1, Commit: 2}})
	save(raft.Ready{Entries: ents(4, 7, 1)})
	save(raft.Ready{Entries: ents(8, 10, 1)})
	r := openRaw(t, name)
	if got, want := r.logKeys(), []uint64{1, 4, 8}; !slices.Equal(got, want) {
		t.Fatalf("records at %v, want %v", got, want)
	}

	// A new leader overwrites from the middle of the record at 4: it is
	// rewritten with entries 4..5 followed by the new ones, and the record
	// at 8 goes.
	save(raft.Ready{Entries: ents(6, 7, 2), HardState: raft.HardState{Term: 2, Commit: 2}})
	if got, want := r.logKeys(), []uint64{1, 4}; !slices.Equal(got, want) {
		t.Fatalf("records at %v, want %v", got, want)
	}
	// At the start of a record.
	save(raft.Ready{Entries: ents(8, 9, 2)})
	save(raft.Ready{Entries: ents(8, 8, 3), HardState: raft.HardState{Term: 3, Commit: 2}})
	if got, want := r.logKeys(), []uint64{1, 4, 8}; !slices.Equal(got, want) {
		t.Fatalf("records at %v, want %v", got, want)
	}
	// Everything after the commit index, spanning records.
	save(raft.Ready{Entries: ents(3, 4, 4), HardState: raft.HardState{Term: 4, Commit: 2}})
	if got, want := r.logKeys(), []uint64{1}; !slices.Equal(got, want) {
		t.Fatalf("records at %v, want %v", got, want)
	}
	es, _ := s.Entries()
	if len(es) != 4 || es[1].Term != 1 || es[2].Term != 4 || es[3].Index != 4 {
		t.Fatalf("entries %+v, want 1..2 of term 1 and 3..4 of term 4", es)
	}
}

func TestLargeSaveSplitsIntoRecords(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	defer func() { s.Close() }()
	m := raft.NewMemoryStorage()
	big := make([]raft.Entry, 300)
	for i := range big {
		big[i] = raft.Entry{Index: uint64(i + 1), Term: 1, Data: []byte(strings.Repeat(string(rune('a'+i%26)), 1000))}
	}
	rd := raft.Ready{Entries: big, HardState: raft.HardState{Term: 1}}
	mustSave(t, s, rd)
	mustSave(t, m, rd)
	r := openRaw(t, name)
	keys := r.logKeys()
	if len(keys) < 300*1000/runBytes || keys[0] != 1 {
		t.Fatalf("300 KB of entries in records at %v: want about %d records from 1", keys, 300*1000/runBytes+1)
	}
	for _, k := range keys {
		if n := len(r.get(storeLog, k)); n > runBytes+1100 {
			t.Fatalf("record at %d is %d bytes, want at most about %d", k, n, runBytes)
		}
	}
	s = reopen(t, s)
	checkView(t, "after reopen", s, viewOf(t, m))
	// Overwrite inside the second record.
	mid := keys[1] + 3
	rd = raft.Ready{Entries: ents(mid, mid+1, 2), HardState: raft.HardState{Term: 2}}
	mustSave(t, s, rd)
	mustSave(t, m, rd)
	s = reopen(t, s)
	checkView(t, "after overwrite and reopen", s, viewOf(t, m))
	if got := r.logKeys(); !slices.Equal(got, keys[:2]) {
		t.Fatalf("records at %v, want %v", got, keys[:2])
	}
}

// TestCompactionRecords checks which records compactions and snapshot
// installs delete (what the store holds is checked by the storagetest
// suite).
func TestCompactionRecords(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	defer func() { s.Close() }()
	r := openRaw(t, name)
	check := func(what string, keys ...uint64) {
		t.Helper()
		if got := r.logKeys(); !slices.Equal(got, keys) {
			t.Fatalf("%s: records at %v, want %v", what, got, keys)
		}
	}
	for _, rd := range []raft.Ready{
		{Entries: ents(1, 4, 1), HardState: raft.HardState{Term: 1, Commit: 4}},
		{Entries: ents(5, 8, 1), HardState: raft.HardState{Term: 1, Commit: 8}},
		{Entries: ents(9, 12, 2), HardState: raft.HardState{Term: 2, Commit: 12}},
	} {
		mustSave(t, s, rd)
	}
	check("three records", 1, 5, 9)
	compact := func(i, term uint64) {
		t.Helper()
		if err := s.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: i, Term: term}}); err != nil {
			t.Fatalf("Compact(%d): %v", i, err)
		}
	}
	compact(6, 1)
	check("compacted inside the second record: it stays", 5, 9)
	compact(8, 1)
	check("compacted at a record boundary", 9)
	compact(12, 2)
	check("compacted the whole log")
	mustSave(t, s, raft.Ready{Entries: ents(13, 16, 2)})
	mustSave(t, s, raft.Ready{Entries: ents(17, 20, 3), HardState: raft.HardState{Term: 3, Commit: 14}})
	check("appended after the snapshot", 13, 17)
	snap := func(i, term uint64) raft.Snapshot {
		return raft.Snapshot{Meta: raft.SnapshotMeta{Index: i, Term: term}}
	}
	mustSave(t, s, raft.Ready{Snapshot: snap(15, 2), HardState: raft.HardState{Term: 3, Commit: 15}, MustSync: true})
	check("installed a snapshot the log agrees with", 13, 17)
	mustSave(t, s, raft.Ready{Snapshot: snap(18, 4), Entries: ents(19, 19, 4), HardState: raft.HardState{Term: 4, Commit: 18}, MustSync: true})
	check("installed a snapshot the log disagrees with", 19)
	mustSave(t, s, raft.Ready{Snapshot: snap(40, 5), HardState: raft.HardState{Term: 5, Commit: 40}, MustSync: true})
	check("installed a snapshot beyond the log")
	mustSave(t, s, raft.Ready{Entries: ents(39, 42, 5)})
	check("entries overlapping the snapshot", 41)
	s = reopen(t, s)
	if es, _ := s.Entries(); span(es) != "[41..42]" {
		t.Fatalf("entries %s, want [41..42]", span(es))
	}
}

// TestInvalidReadys: what this store refuses beyond the storagetest
// suite's refusals, and that errors name the store.
func TestInvalidReadys(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	defer func() { s.Close() }()
	m := raft.NewMemoryStorage()
	rd := raft.Ready{Entries: ents(1, 5, 1), HardState: raft.HardState{Term: 1, Commit: 3}}
	mustSave(t, s, rd)
	mustSave(t, m, rd)
	for what, rd := range map[string]raft.Ready{
		"gap":                {Entries: ents(7, 8, 1), HardState: raft.HardState{Term: 9}},
		"beyond number keys": {Entries: []raft.Entry{{Index: maxIndex + 1, Term: 1}}, Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: maxIndex, Term: 1}}},
	} {
		if err := s.Save(&rd); err == nil {
			t.Errorf("%s: Save succeeded", what)
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the store", what, err)
		}
		checkView(t, what, s, viewOf(t, m))
	}
	s = reopen(t, s)
	checkView(t, "reopened", s, viewOf(t, m))
}

// TestReadsAfterClose: a closed Store still answers reads from memory.
func TestReadsAfterClose(t *testing.T) {
	s := mustOpen(t, testName(t))
	rd := raft.Ready{Entries: ents(1, 3, 1), HardState: raft.HardState{Term: 1, Commit: 2}}
	mustSave(t, s, rd)
	mustClose(t, s)
	m := raft.NewMemoryStorage()
	mustSave(t, m, rd)
	checkView(t, "reads after Close", s, viewOf(t, m))
}

func TestNamesAreIsolated(t *testing.T) {
	ctx := context.Background()
	names := []string{Name("room-a", 1), Name("room-a", 0x1f_ffff_ffff_ffff), Name("room-b", 1)}
	if names[0] != "room-a/1" || names[1] != "room-a/1fffffffffffff" {
		t.Fatalf("names %q", names)
	}
	stores := make([]*Store, len(names))
	for i, n := range names {
		if err := Delete(ctx, n); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { Delete(ctx, n) })
		stores[i] = mustOpen(t, n)
		rd := raft.Ready{Entries: ents(1, uint64(i+1), uint64(i+1)), HardState: raft.HardState{Term: uint64(i + 1), Vote: raft.NodeID(i)}}
		mustSave(t, stores[i], rd)
	}
	for i, s := range stores {
		s = reopen(t, s)
		stores[i] = s
		hs, _, _ := s.InitialState()
		es, _ := s.Entries()
		if hs.Term != uint64(i+1) || len(es) != i+1 || es[0].Term != uint64(i+1) {
			t.Fatalf("store %q holds %+v and %d entries of term %d", names[i], hs, len(es), es[0].Term)
		}
	}
	// Deleting one leaves the others; the deleted one comes back empty.
	mustClose(t, stores[1])
	if err := Delete(ctx, names[1]); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, names[1])
	checkView(t, "deleted store", s, view{})
	mustClose(t, s)
	for _, i := range []int{0, 2} {
		s := reopen(t, stores[i])
		if es, _ := s.Entries(); len(es) != i+1 {
			t.Fatalf("store %q lost its entries after another was deleted", names[i])
		}
		mustClose(t, s)
	}
}

func TestDeleteWhileOpen(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	mustSave(t, s, raft.Ready{Entries: ents(1, 2, 1)})
	// Another tab deletes the store: the browser closes this connection.
	if err := Delete(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	err := s.Save(&raft.Ready{Entries: ents(3, 3, 1)})
	if err == nil {
		t.Fatal("Save on a deleted store succeeded")
	}
	t.Logf("Save after Delete: %v", err)
	if es, _ := s.Entries(); len(es) != 2 {
		t.Fatalf("a failed Save changed the copy in memory: %d entries", len(es))
	}
	s.Close()
	s = mustOpen(t, name)
	defer s.Close()
	checkView(t, "deleted store", s, view{})
}

func TestDurability(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	defer s.Close()
	mustSave(t, s, raft.Ready{Entries: ents(1, 3, 1), HardState: raft.HardState{Term: 1, Vote: 1}})
	for _, c := range []struct {
		what         string
		rd           raft.Ready
		strict, lazy bool
	}{
		{"commit only", raft.Ready{HardState: raft.HardState{Term: 1, Vote: 1, Commit: 2}}, false, true},
		{"commit only, MustSync", raft.Ready{HardState: raft.HardState{Term: 1, Vote: 1, Commit: 2}, MustSync: true}, true, false},
		{"new term", raft.Ready{HardState: raft.HardState{Term: 2}}, true, false},
		{"new vote", raft.Ready{HardState: raft.HardState{Term: 1, Vote: 2}}, true, false},
		{"entries", raft.Ready{Entries: ents(4, 4, 1)}, true, false},
		{"snapshot", raft.Ready{Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 9, Term: 1}}}, true, false},
	} {
		p, err := s.planSave(&c.rd)
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if p.strict != c.strict || p.lazy != c.lazy {
			t.Errorf("%s: strict %v, lazy %v; want %v, %v", c.what, p.strict, p.lazy, c.strict, c.lazy)
		}
	}
	p, err := s.planSave(&raft.Ready{HardState: raft.HardState{Term: 1, Vote: 1}})
	if err != nil || len(p.ops) != 0 {
		t.Fatalf("an unchanged hard state plans %d writes (%v), want none", len(p.ops), err)
	}
}

// storedHard reads the hard state IndexedDB holds for name.
func storedHard(t *testing.T, r *raw) raft.HardState {
	t.Helper()
	hs, err := decodeHard(r.get(storeMeta, keyHard))
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

// TestCommitOnlyDeferred: a Save that only moves the commit index writes
// nothing; the next write, Flush and Close write it; a Store abandoned
// before (a closed tab) comes back with the older commit index.
func TestCommitOnlyDeferred(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	r := openRaw(t, name)
	mustSave(t, s, raft.Ready{Entries: ents(1, 5, 1), HardState: raft.HardState{Term: 1, Vote: 1, Commit: 1}, MustSync: true})
	commit := func(c uint64) raft.Ready { return raft.Ready{HardState: raft.HardState{Term: 1, Vote: 1, Commit: c}} }

	mustSave(t, s, commit(2))
	mustSave(t, s, commit(3))
	if hs, _, _ := s.InitialState(); hs.Commit != 3 {
		t.Fatalf("the store answers commit %d, want 3", hs.Commit)
	}
	if got := storedHard(t, r).Commit; got != 1 {
		t.Fatalf("IndexedDB holds commit %d after commit-only Saves, want 1 (not written)", got)
	}
	// The next write carries it, though its Ready has no hard state.
	mustSave(t, s, raft.Ready{Entries: ents(6, 6, 1), MustSync: true})
	if got := storedHard(t, r).Commit; got != 3 {
		t.Fatalf("IndexedDB holds commit %d after the next Save, want 3", got)
	}
	// A compaction too.
	mustSave(t, s, commit(4))
	if err := s.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 2, Term: 1}}); err != nil {
		t.Fatal(err)
	}
	if got := storedHard(t, r).Commit; got != 4 {
		t.Fatalf("IndexedDB holds commit %d after Compact, want 4", got)
	}
	// Flush.
	mustSave(t, s, commit(5))
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := storedHard(t, r).Commit; got != 5 {
		t.Fatalf("IndexedDB holds commit %d after Flush, want 5", got)
	}
	// Abandoned: lost.
	mustSave(t, s, commit(6))
	abandoned := s
	defer abandoned.Close()
	s = mustOpen(t, name)
	if hs, _, _ := s.InitialState(); hs.Commit != 5 {
		t.Fatalf("reopened after abandoning: commit %d, want 5", hs.Commit)
	}
	// Close writes it.
	mustSave(t, s, commit(6))
	s = reopen(t, s)
	defer s.Close()
	if hs, _, _ := s.InitialState(); hs.Commit != 6 {
		t.Fatalf("reopened after Close: commit %d, want 6", hs.Commit)
	}
}

// TestOldFormat: a store of the first builds (no format key, records of
// their own) is refused with ErrUnsupportedFormat; an empty one is taken
// over, and its first write records the format.
func TestOldFormat(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	mustClose(t, s)
	r := openRaw(t, name)
	if got, ok := r.format(); !ok || got != format {
		t.Fatalf("a new store records format %v (%v), want %d", got, ok, format)
	}
	// As the first builds left it: no format key, a hard state record of
	// theirs (kind 2, varints, CRC-32C).
	r.delete(storeMeta, keyFormat)
	old := []byte{2, 1, 1, 0}
	old = binary.LittleEndian.AppendUint32(old, crc32.Checksum(old, crc32.MakeTable(crc32.Castagnoli)))
	r.put(storeMeta, keyHard, old)
	_, err := Open(context.Background(), name)
	if !errors.Is(err, ErrUnsupportedFormat) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "format 1") {
		t.Fatalf("Open of a format 1 store: %v, want ErrUnsupportedFormat", err)
	}
	t.Logf("%v", err)

	// Empty, without a format key: opened, and the format is recorded
	// with the first write.
	r.delete(storeMeta, keyHard)
	s = mustOpen(t, name)
	if got, ok := r.format(); ok {
		t.Fatalf("format %v before any write", got)
	}
	mustSave(t, s, raft.Ready{HardState: raft.HardState{Term: 1}, MustSync: true})
	if got, ok := r.format(); !ok || got != format {
		t.Fatalf("format %v (%v) after the first write, want %d", got, ok, format)
	}
	s = reopen(t, s)
	mustClose(t, s)

	r.put(storeMeta, keyFormat, 3)
	if _, err := Open(context.Background(), name); !errors.Is(err, ErrUnsupportedFormat) {
		t.Fatalf("Open of a format 3 store: %v, want ErrUnsupportedFormat", err)
	}
}
