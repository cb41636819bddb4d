package filelog

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/raft"
)

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

// TestRefusalsWriteNothing: a refused Save or Compact leaves the files
// as they were (the refusals themselves are in the storagetest suite).
func TestRefusalsWriteNothing(t *testing.T) {
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
	if got := fileSize(t, lastSegment(t, dir)); got != size {
		t.Fatalf("refused writes changed the segment: %d -> %d bytes", size, got)
	}
	if got := files(t, dir); len(got) != 3 { // LOCK, the segment, the snapshot
		t.Fatalf("files %v after refused writes", got)
	}
}

// TestSnapshotFiles: compaction deletes the segments it empties, and
// only the snapshot file in force stays, after a crash too. (What the log
// holds is checked by the storagetest suite.)
func TestSnapshotFiles(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 512}
	l := mustOpen(t, dir, opts)
	for i := uint64(1); i <= 100; i += 5 {
		mustSave(t, l, raft.Ready{Entries: ents(i, i+4, 1), HardState: raft.HardState{Term: 1, Commit: i + 4}, MustSync: true})
	}
	before := len(segmentsIn(t, dir))
	if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 60, Term: 1}, Data: []byte("state at 60")}); err != nil {
		t.Fatal(err)
	}
	if after := len(segmentsIn(t, dir)); after >= before {
		t.Fatalf("compaction kept all %d segments", before)
	}
	snapFiles := func() []string {
		var snaps []string
		for _, n := range files(t, dir) {
			if strings.HasSuffix(n, snapExt) {
				snaps = append(snaps, n)
			}
		}
		return snaps
	}
	// A leader's snapshot that agrees with the log, then one that does not.
	mustSave(t, l, raft.Ready{Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 80, Term: 1}, Data: []byte("state at 80")}, MustSync: true})
	if got, want := snapFiles(), []string{snapshotName(80)}; !slices.Equal(got, want) {
		t.Fatalf("snapshot files %v, want %v", got, want)
	}
	mustSave(t, l, raft.Ready{Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 95, Term: 2}, Data: []byte("state at 95")},
		Entries: ents(96, 98, 2), HardState: raft.HardState{Term: 2, Commit: 95}, MustSync: true})
	if got, want := snapFiles(), []string{snapshotName(95)}; !slices.Equal(got, want) {
		t.Fatalf("snapshot files %v, want %v", got, want)
	}
	want := viewOf(t, l)
	crash(l)
	l = mustOpen(t, dir, opts)
	defer l.Close()
	checkView(t, "after crash", l, want)
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
		{typ: record.TypeHardState, hard: raft.HardState{Term: 1}},
		{typ: record.TypeEntries, ents: ents(1, 2, 1)},
	})
	if len(buf)%record.Align != 0 {
		t.Fatalf("batch of %d bytes is not aligned", len(buf))
	}
	recs := recordsOf(t, buf)
	if len(recs) != 2 || recs[0].BatchEnd() || !recs[1].BatchEnd() {
		t.Fatalf("records %+v", recs)
	}
	// Large batches are split into several entries records.
	big := make([]raft.Entry, 300)
	for i := range big {
		big[i] = raft.Entry{Index: uint64(i + 1), Term: 1, Data: make([]byte, 10<<10)}
	}
	recs = recordsOf(t, appendBatch(nil, []op{{typ: record.TypeEntries, ents: big}}))
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

// TestOldFormat: a log written by the first builds (format version 1:
// fixed-width payloads) is refused with ErrUnsupportedFormat, not read
// as garbage or reported as corrupt.
func TestOldFormat(t *testing.T) {
	dir := t.TempDir()
	// A version 1 segment header: version u32, zero u32, sequence,
	// snapshot index and term, last index, hard state (u64 each).
	var hdr []byte
	hdr = binary.LittleEndian.AppendUint32(hdr, 1)
	hdr = binary.LittleEndian.AppendUint32(hdr, 0)
	for _, v := range []uint64{1, 0, 0, 3, 2, 1, 3} {
		hdr = binary.LittleEndian.AppendUint64(hdr, v)
	}
	seg := forge(record.TypeSegmentHeader, record.FlagBatchEnd, hdr)
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), seg, 0o640); err != nil {
		t.Fatal(err)
	}
	l, err := Open(dir, Options{})
	if err == nil {
		l.Close()
		t.Fatal("Open of a version 1 log succeeded")
	}
	if !errors.Is(err, ErrUnsupportedFormat) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "version 1") {
		t.Fatalf("Open: %v, want ErrUnsupportedFormat naming version 1", err)
	}
	if got := fileSize(t, filepath.Join(dir, segmentName(1))); got != int64(len(seg)) {
		t.Fatal("the refused segment was changed")
	}
}
