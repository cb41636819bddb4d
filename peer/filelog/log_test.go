package filelog

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

func TestEmptyLog(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	checkView(t, "new log", l, view{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkView(t, "reopened empty log", l, view{})
}

func TestCreatesNestedDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "log")
	l := mustOpen(t, dir, Options{})
	mustSave(t, l, raft.Ready{Entries: ents(1, 1, 1), MustSync: true})
	l.Close()
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	if l.LastIndex() != 1 {
		t.Fatal("entry lost")
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := raft.NewMemoryStorage()
	l := mustOpen(t, dir, Options{})
	for _, rd := range []raft.Ready{
		{HardState: raft.HardState{Term: 1, Vote: 1}, MustSync: true},
		{Entries: ents(1, 3, 1), MustSync: true},
		{HardState: raft.HardState{Term: 1, Vote: 1, Commit: 2}},
		{Entries: ents(4, 9, 1), HardState: raft.HardState{Term: 1, Vote: 1, Commit: 3}, MustSync: true},
		{Entries: []raft.Entry{{Index: 10, Term: 1}, {Index: 11, Term: 1, Type: raft.EntryConfChange, Data: []byte{1, 2}}}, MustSync: true},
		{HardState: raft.HardState{Term: 1, Vote: 1, Commit: 11}},
	} {
		mustSave(t, l, rd)
		mustSave(t, m, rd)
		checkView(t, "before reopen", l, viewOf(t, m))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkView(t, "after reopen", l, viewOf(t, m))
	if got := l.LastIndex(); got != 11 {
		t.Fatalf("LastIndex = %d, want 11", got)
	}
	// The reopened log keeps appending where it stopped.
	rd := raft.Ready{Entries: ents(12, 12, 2), HardState: raft.HardState{Term: 2, Commit: 11}, MustSync: true}
	mustSave(t, l, rd)
	mustSave(t, m, rd)
	crash(l)
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkView(t, "after crash", l, viewOf(t, m))
}

func TestOverwriteTail(t *testing.T) {
	for _, segSize := range []int64{0, 256} {
		dir := t.TempDir()
		m := raft.NewMemoryStorage()
		l := mustOpen(t, dir, Options{SegmentSize: segSize})
		for _, rd := range []raft.Ready{
			{Entries: ents(1, 10, 1), HardState: raft.HardState{Term: 1, Commit: 2}},
			{Entries: ents(6, 8, 2), HardState: raft.HardState{Term: 2, Commit: 2}}, // cuts 9, 10
			{Entries: ents(9, 12, 2)},
			{Entries: ents(3, 3, 3), HardState: raft.HardState{Term: 3, Commit: 2}}, // cuts 4..12
			{Entries: ents(4, 5, 3)},
		} {
			rd.MustSync = true
			mustSave(t, l, rd)
			mustSave(t, m, rd)
		}
		want := viewOf(t, m)
		checkView(t, "before reopen", l, want)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, dir, Options{SegmentSize: segSize})
		checkView(t, "after reopen", l, want)
		l.Close()
		if segSize > 0 && len(segmentsIn(t, dir)) < 3 {
			t.Fatalf("segment size %d: only %v", segSize, segmentsIn(t, dir))
		}
	}
}

func TestSaveValidation(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	defer l.Close()
	mustSave(t, l, raft.Ready{Entries: ents(1, 5, 1), MustSync: true})
	mustSave(t, l, raft.Ready{Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 3, Term: 1}}, MustSync: true})
	size := fileSize(t, lastSegment(t, dir))
	for name, rd := range map[string]raft.Ready{
		"gap":            {Entries: ents(7, 8, 1)},
		"not contiguous": {Entries: append(ents(4, 4, 1), ents(6, 6, 1)...)},
		"old snapshot":   {Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 3, Term: 1}}},
	} {
		if err := l.Save(&rd); err == nil {
			t.Errorf("%s: Save succeeded", name)
		}
	}
	if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 9, Term: 1}}); err == nil {
		t.Error("Compact beyond the last index succeeded")
	}
	if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 4, Term: 7}}); err == nil {
		t.Error("Compact with a wrong term succeeded")
	}
	if got := fileSize(t, lastSegment(t, dir)); got != size {
		t.Fatalf("refused writes changed the segment: %d -> %d bytes", size, got)
	}
	// Refusals are not failures: the log stays usable.
	mustSave(t, l, raft.Ready{Entries: ents(1, 6, 1), MustSync: true}) // 1..3 are covered
	if es, _ := l.Entries(); len(es) != 3 || es[0].Index != 4 {
		t.Fatalf("entries %s, want [4..6]", span(es))
	}
	// A Compact not newer than the stored snapshot is ignored.
	if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 2, Term: 1}}); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotCompactReopen(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 512}
	m := raft.NewMemoryStorage()
	l := mustOpen(t, dir, opts)
	for i := uint64(1); i <= 100; i += 5 {
		rd := raft.Ready{Entries: ents(i, i+4, 1), HardState: raft.HardState{Term: 1, Commit: i + 4}, MustSync: true}
		mustSave(t, l, rd)
		mustSave(t, m, rd)
	}
	before := len(segmentsIn(t, dir))
	snap := raft.Snapshot{Meta: raft.SnapshotMeta{Index: 60, Term: 1, ConfState: raft.ConfState{Voters: []raft.NodeID{1, 2, 3}}},
		Data: []byte("state at 60")}
	if err := l.Compact(snap); err != nil {
		t.Fatal(err)
	}
	if err := m.Compact(snap); err != nil {
		t.Fatal(err)
	}
	after := len(segmentsIn(t, dir))
	if after >= before {
		t.Fatalf("compaction kept all %d segments", before)
	}
	checkView(t, "after compact", l, viewOf(t, m))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, opts)
	checkView(t, "after reopen", l, viewOf(t, m))

	// A snapshot from a leader that agrees with the log keeps what follows.
	rd := raft.Ready{Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 80, Term: 1, ConfState: raft.ConfState{Voters: []raft.NodeID{1, 2}}},
		Data: []byte("state at 80")}, MustSync: true}
	mustSave(t, l, rd)
	mustSave(t, m, rd)
	checkView(t, "after agreeing snapshot", l, viewOf(t, m))
	// One that disagrees replaces the whole log, and entries may follow it.
	rd = raft.Ready{Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 95, Term: 2, ConfState: raft.ConfState{Voters: []raft.NodeID{1}}},
		Data: []byte("state at 95")}, Entries: ents(96, 98, 2), HardState: raft.HardState{Term: 2, Commit: 95}, MustSync: true}
	mustSave(t, l, rd)
	mustSave(t, m, rd)
	checkView(t, "after disagreeing snapshot", l, viewOf(t, m))
	snapFiles := func() []string {
		var snaps []string
		for _, n := range files(t, dir) {
			if strings.HasSuffix(n, snapExt) {
				snaps = append(snaps, n)
			}
		}
		return snaps
	}
	if got, want := snapFiles(), []string{snapshotName(95)}; !slices.Equal(got, want) {
		t.Fatalf("snapshot files %v, want %v", got, want)
	}
	crash(l)
	l = mustOpen(t, dir, opts)
	defer l.Close()
	checkView(t, "after crash", l, viewOf(t, m))
	if got, want := snapFiles(), []string{snapshotName(95)}; !slices.Equal(got, want) {
		t.Fatalf("after reopen: snapshot files %v, want %v", got, want)
	}
}

func TestCompactDeletesSegments(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 256}
	l := mustOpen(t, dir, opts)
	defer l.Close()
	var term uint64 = 1
	for i := uint64(1); i <= 200; i += 4 {
		mustSave(t, l, raft.Ready{Entries: ents(i, i+3, term), MustSync: true})
		if i%40 == 1 && i > 1 {
			if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: i - 1, Term: term}}); err != nil {
				t.Fatal(err)
			}
			// Only segments from the one holding entry i on remain.
			if segs := segmentsIn(t, dir); len(segs) > 2 {
				t.Fatalf("after compacting to %d: %v", i-1, segs)
			}
		}
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("second Open of the same directory succeeded")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{})
	l.Close()
}

func TestClosed(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Options{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Save(&raft.Ready{Entries: ents(1, 1, 1)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Save after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestGarbageFilesIgnored(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{})
	mustSave(t, l, raft.Ready{Entries: ents(1, 3, 1), HardState: raft.HardState{Term: 1, Commit: 1}, MustSync: true})
	want := viewOf(t, l)
	l.Close()
	garbage := []string{"README", "notes.seg", "x.snap", "0000000000000001.seg.bak", "00000000000000zz.seg", "0000000000000001.SEG"}
	for _, n := range garbage {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("not a log file"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "0000000000000007.seg"), 0o750); err != nil {
		t.Fatal(err)
	}
	tmp := snapshotName(2) + tmpExt
	if err := os.WriteFile(filepath.Join(dir, tmp), []byte("half a snapshot"), 0o640); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	checkView(t, "with garbage around", l, want)
	names := files(t, dir)
	for _, n := range garbage {
		if !slices.Contains(names, n) {
			t.Errorf("foreign file %s was removed", n)
		}
	}
	if slices.Contains(names, tmp) {
		t.Errorf("temporary snapshot %s was left behind", tmp)
	}
}

func TestStickyFailure(t *testing.T) {
	dir := t.TempDir()
	fail := false
	opts := Options{hook: func(string) error {
		if fail {
			return errCrash
		}
		return nil
	}}
	l := mustOpen(t, dir, opts)
	mustSave(t, l, raft.Ready{Entries: ents(1, 2, 1), MustSync: true})
	fail = true
	if err := l.Save(&raft.Ready{Entries: ents(3, 3, 1), MustSync: true}); !errors.Is(err, errCrash) {
		t.Fatalf("Save: %v", err)
	}
	fail = false
	if err := l.Save(&raft.Ready{Entries: ents(3, 3, 1), MustSync: true}); !errors.Is(err, errCrash) {
		t.Fatalf("Save after a failure: %v, want the earlier failure", err)
	}
	if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 1, Term: 1}}); err == nil {
		t.Fatal("Compact after a failure succeeded")
	}
	l.Close()
	l = mustOpen(t, dir, Options{})
	defer l.Close()
	if got := l.LastIndex(); got != 3 { // the failed batch was written, only not synced
		t.Fatalf("LastIndex %d, want 3", got)
	}
}

func TestRecordFraming(t *testing.T) {
	buf := appendBatch(nil, []op{
		{typ: recHardState, hard: raft.HardState{Term: 1}},
		{typ: recEntries, ents: ents(1, 2, 1)},
	})
	if len(buf)%recordAlign != 0 {
		t.Fatalf("batch of %d bytes is not aligned", len(buf))
	}
	recs := recordsOf(t, buf)
	if len(recs) != 2 || recs[0].batchEnd() || !recs[1].batchEnd() {
		t.Fatalf("records %+v", recs)
	}
	// A zero-filled header is not a record.
	if _, reason := parseRecord(make([]byte, 64), 0, maxRecordLen); reason == "" {
		t.Fatal("zeros parse as a record")
	}
	// Large batches are split into several entries records.
	big := make([]raft.Entry, 300)
	for i := range big {
		big[i] = raft.Entry{Index: uint64(i + 1), Term: 1, Data: make([]byte, 10<<10)}
	}
	recs = recordsOf(t, appendBatch(nil, []op{{typ: recEntries, ents: big}}))
	if len(recs) < 3 {
		t.Fatalf("3 MB of entries in %d records", len(recs))
	}
	var n int
	for _, r := range recs {
		o, err := decodeOp(&r)
		if err != nil {
			t.Fatal(err)
		}
		n += len(o.ents)
	}
	if n != len(big) {
		t.Fatalf("decoded %d entries, want %d", n, len(big))
	}
}
