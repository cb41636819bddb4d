//go:build js && wasm

package idbstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

func TestEmptyStore(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	checkView(t, "new store", s, view{})
	if got := s.LastIndex(); got != 0 {
		t.Fatalf("LastIndex = %d, want 0", got)
	}
	s = reopen(t, s)
	defer s.Close()
	checkView(t, "reopened empty store", s, view{})
}

func TestSaveSurvivesReopen(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	m := raft.NewMemoryStorage()
	readys := []raft.Ready{
		{HardState: raft.HardState{Term: 1, Vote: 2}, MustSync: true},
		{Entries: ents(1, 3, 1), HardState: raft.HardState{Term: 1, Vote: 2, Commit: 1}, MustSync: true},
		{Entries: []raft.Entry{{Index: 4, Term: 1, Type: raft.EntryConfChange, Data: []byte{0, 1, 2, 255}}, {Index: 5, Term: 1}}},
		{HardState: raft.HardState{Term: 1, Vote: 2, Commit: 5}},
		{Entries: ents(6, 6, 1), HardState: raft.HardState{Term: 1, Vote: 2, Commit: 5}},
	}
	for i, rd := range readys {
		mustSave(t, s, rd)
		mustSave(t, m, rd)
		checkView(t, "after save", s, viewOf(t, m))
		s = reopen(t, s)
		checkView(t, "after reopen", s, viewOf(t, m))
		if i == 2 {
			// The entry with nil data comes back with nil data, not empty.
			es, _ := s.Entries()
			if es[4].Data != nil {
				t.Fatalf("entry 5 data = %#v, want nil", es[4].Data)
			}
		}
	}
	mustClose(t, s)
	if err := s.Save(&raft.Ready{Entries: ents(7, 7, 1)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Save after Close = %v, want ErrClosed", err)
	}
	if err := s.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 1, Term: 1}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Compact after Close = %v, want ErrClosed", err)
	}
	checkView(t, "reads after Close", s, viewOf(t, m))
}

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

func TestSnapshotAndCompaction(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	defer func() { s.Close() }()
	m := raft.NewMemoryStorage()
	r := openRaw(t, name)
	check := func(what string, keys ...uint64) {
		t.Helper()
		checkView(t, what, s, viewOf(t, m))
		s = reopen(t, s)
		checkView(t, what+", reopened", s, viewOf(t, m))
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
		mustSave(t, m, rd)
	}
	check("three records", 1, 5, 9)

	conf := raft.ConfState{Voters: []raft.NodeID{1, 2, 3}, Learners: []raft.NodeID{1 << 60}}
	snap := func(i, term uint64, data string) raft.Snapshot {
		return raft.Snapshot{Meta: raft.SnapshotMeta{Index: i, Term: term, ConfState: conf}, Data: []byte(data)}
	}
	compact := func(sn raft.Snapshot) {
		t.Helper()
		if err := s.Compact(sn); err != nil {
			t.Fatalf("Compact(%d): %v", sn.Meta.Index, err)
		}
		if err := m.Compact(sn); err != nil {
			t.Fatal(err)
		}
	}

	// Inside the second record: the first goes, the second stays.
	compact(snap(6, 1, "board at 6"))
	check("compacted at 6", 5, 9)
	// Not newer: ignored.
	if err := s.Compact(snap(3, 1, "old")); err != nil {
		t.Fatalf("Compact of an older snapshot: %v", err)
	}
	check("older compaction ignored", 5, 9)
	// Refused: beyond the log, or disagreeing with it.
	if err := s.Compact(snap(13, 2, "future")); err == nil {
		t.Fatal("Compact beyond the last index succeeded")
	}
	if err := s.Compact(snap(10, 1, "wrong term")); err == nil {
		t.Fatal("Compact with the wrong term succeeded")
	}
	check("refused compactions", 5, 9)
	// At a record boundary.
	compact(snap(8, 1, "board at 8"))
	check("compacted at 8", 9)
	// The whole log.
	compact(snap(12, 2, "board at 12"))
	check("compacted at 12")
	if s.LastIndex() != 12 {
		t.Fatalf("LastIndex = %d, want 12", s.LastIndex())
	}

	// The log goes on from the snapshot.
	for _, rd := range []raft.Ready{
		{Entries: ents(13, 16, 2), HardState: raft.HardState{Term: 2, Commit: 14}},
		{Entries: ents(17, 20, 3), HardState: raft.HardState{Term: 3, Commit: 14}},
	} {
		mustSave(t, s, rd)
		mustSave(t, m, rd)
	}
	check("appended after the snapshot", 13, 17)

	// A leader's snapshot that agrees with the log keeps what follows it.
	rd := raft.Ready{Snapshot: snap(15, 2, "leader's 15"), HardState: raft.HardState{Term: 3, Commit: 15}, MustSync: true}
	mustSave(t, s, rd)
	mustSave(t, m, rd)
	check("installed a snapshot the log agrees with", 13, 17)
	if got, _ := s.Entries(); span(got) != "[16..20]" {
		t.Fatalf("entries %s, want [16..20]", span(got))
	}
	// One that does not replaces the log, and entries may come with it.
	rd = raft.Ready{Snapshot: snap(18, 4, "leader's 18"), Entries: ents(19, 19, 4), HardState: raft.HardState{Term: 4, Commit: 18}, MustSync: true}
	mustSave(t, s, rd)
	mustSave(t, m, rd)
	check("installed a snapshot the log disagrees with", 19)
	// Beyond the log.
	rd = raft.Ready{Snapshot: snap(40, 5, "leader's 40"), HardState: raft.HardState{Term: 5, Commit: 40}, MustSync: true}
	mustSave(t, s, rd)
	mustSave(t, m, rd)
	check("installed a snapshot beyond the log")
	if got, _ := s.Snapshot(); string(got.Data) != "leader's 40" || !sameConf(got.Meta.ConfState, conf) {
		t.Fatalf("snapshot %+v %q", got.Meta, got.Data)
	}
	// Entries at or below the snapshot are skipped.
	rd = raft.Ready{Entries: ents(39, 42, 5)}
	mustSave(t, s, rd)
	mustSave(t, m, rd)
	check("entries overlapping the snapshot", 41)
}

func TestInvalidReadysChangeNothing(t *testing.T) {
	name := testName(t)
	s := mustOpen(t, name)
	defer func() { s.Close() }()
	m := raft.NewMemoryStorage()
	rd := raft.Ready{Entries: ents(1, 5, 1), HardState: raft.HardState{Term: 1, Commit: 3}}
	mustSave(t, s, rd)
	mustSave(t, m, rd)
	if err := s.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 3, Term: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 3, Term: 1}}); err != nil {
		t.Fatal(err)
	}
	for what, rd := range map[string]raft.Ready{
		"gap":                  {Entries: ents(7, 8, 1), HardState: raft.HardState{Term: 9}},
		"not contiguous":       {Entries: append(ents(6, 6, 1), ents(8, 8, 1)...)},
		"old snapshot":         {Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 3, Term: 1}}, HardState: raft.HardState{Term: 9}},
		"beyond number keys":   {Entries: []raft.Entry{{Index: maxIndex + 1, Term: 1}}, Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: maxIndex, Term: 1}}},
		"snapshot then a gap":  {Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 10, Term: 2}}, Entries: ents(12, 12, 2)},
		"gap after the record": {Entries: ents(7, 7, 1)},
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
		what   string
		rd     raft.Ready
		strict bool
	}{
		{"commit only", raft.Ready{HardState: raft.HardState{Term: 1, Vote: 1, Commit: 2}}, false},
		{"commit only, MustSync", raft.Ready{HardState: raft.HardState{Term: 1, Vote: 1, Commit: 2}, MustSync: true}, true},
		{"new term", raft.Ready{HardState: raft.HardState{Term: 2}}, true},
		{"new vote", raft.Ready{HardState: raft.HardState{Term: 1, Vote: 2}}, true},
		{"entries", raft.Ready{Entries: ents(4, 4, 1)}, true},
		{"snapshot", raft.Ready{Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 9, Term: 1}}}, true},
	} {
		p, err := s.planSave(&c.rd)
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if p.strict != c.strict {
			t.Errorf("%s: strict = %v, want %v", c.what, p.strict, c.strict)
		}
	}
	p, err := s.planSave(&raft.Ready{HardState: raft.HardState{Term: 1, Vote: 1}})
	if err != nil || len(p.ops) != 0 {
		t.Fatalf("an unchanged hard state plans %d writes (%v), want none", len(p.ops), err)
	}
}
