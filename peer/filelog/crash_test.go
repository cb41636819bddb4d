package filelog

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/raft"
)

// tailFixture is a log whose last batch (written by the last Save) has
// three records: a snapshot marker, entries and a hard state.
type tailFixture struct {
	files      map[string][]byte // the directory after the last Save, plus the files it deleted
	seg        string            // name of the (only) segment
	data       []byte            // the segment's bytes after the last Save
	before     int64             // the segment's size before the last Save
	prev, next view              // the log before and after the last Save
	scratch    string
}

func newTailFixture(t *testing.T) tailFixture {
	t.Helper()
	dir := t.TempDir()
	m := raft.NewMemoryStorage()
	l := mustOpen(t, dir, Options{})
	for _, rd := range []raft.Ready{
		{Entries: ents(1, 5, 1), HardState: raft.HardState{Term: 1, Vote: 1, Commit: 3}, MustSync: true},
		{Entries: ents(6, 8, 1), MustSync: true},
	} {
		mustSave(t, l, rd)
		mustSave(t, m, rd)
	}
	snap := raft.Snapshot{Meta: raft.SnapshotMeta{Index: 2, Term: 1, ConfState: raft.ConfState{Voters: []raft.NodeID{1}}}, Data: []byte("at 2")}
	if err := l.Compact(snap); err != nil {
		t.Fatal(err)
	}
	if err := m.Compact(snap); err != nil {
		t.Fatal(err)
	}
	f := tailFixture{files: map[string][]byte{}, seg: filepath.Base(lastSegment(t, dir)), prev: viewOf(t, m), scratch: t.TempDir()}
	f.before = fileSize(t, lastSegment(t, dir))
	// The last Save deletes the older snapshot once its own is durable;
	// a crash before that leaves it, and a torn last batch needs it.
	f.readFiles(t, dir)
	last := raft.Ready{
		Snapshot:  raft.Snapshot{Meta: raft.SnapshotMeta{Index: 4, Term: 1, ConfState: raft.ConfState{Voters: []raft.NodeID{1, 2}}}, Data: []byte("at 4")},
		Entries:   ents(7, 9, 2),
		HardState: raft.HardState{Term: 2, Vote: 2, Commit: 4},
		MustSync:  true,
	}
	mustSave(t, l, last)
	mustSave(t, m, last)
	f.next = viewOf(t, m)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f.readFiles(t, dir)
	f.data = f.files[f.seg]
	if n := len(recordsOf(t, f.data[f.before:])); n != 3 {
		t.Fatalf("last batch has %d records, want 3", n)
	}
	return f
}

func (f *tailFixture) readFiles(t *testing.T, dir string) {
	t.Helper()
	for _, n := range files(t, dir) {
		if n == lockName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		f.files[n] = b
	}
}

// variant fills the fixture's scratch directory with its files, the
// segment replaced by seg.
func (f tailFixture) variant(t *testing.T, seg []byte) (dir, path string) {
	t.Helper()
	for _, n := range files(t, f.scratch) {
		if err := os.Remove(filepath.Join(f.scratch, n)); err != nil {
			t.Fatal(err)
		}
	}
	for n, b := range f.files {
		if n == f.seg {
			b = seg
		}
		if err := os.WriteFile(filepath.Join(f.scratch, n), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return f.scratch, filepath.Join(f.scratch, f.seg)
}

// TestTornTailEveryOffset cuts the last batch at every byte: the log opens
// as it was before that batch, until the batch is whole.
func TestTornTailEveryOffset(t *testing.T) {
	t.Parallel()
	f := newTailFixture(t)
	full := int64(len(f.data))
	for cut := f.before; cut <= full; cut++ {
		dir, path := f.variant(t, f.data[:cut])
		l, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("cut at %d of [%d, %d]: %v", cut, f.before, full, err)
		}
		want, wantSize := f.prev, f.before
		if cut == full {
			want, wantSize = f.next, full
		}
		checkView(t, "cut log", l, want)
		if got := fileSize(t, path); got != wantSize {
			t.Fatalf("cut at %d: segment is %d bytes after Open, want %d", cut, got, wantSize)
		}
		if cut < full && slices.Contains(files(t, dir), snapshotName(4)) {
			t.Fatalf("cut at %d: the unreferenced snapshot file survived Open", cut)
		}
		if (cut-f.before)%16 == 0 {
			// The log goes on from the cut.
			mustSave(t, l, raft.Ready{Entries: ents(9, 10, 3), HardState: raft.HardState{Term: 3, Commit: 4}, MustSync: true})
			after := viewOf(t, l)
			l.Close()
			l = mustOpen(t, dir, Options{})
			checkView(t, "cut log, extended and reopened", l, after)
		}
		l.Close()
	}
}

// TestGarbageTail fills the end of the last batch with zeros or random
// bytes, as a crash can leave it.
func TestGarbageTail(t *testing.T) {
	t.Parallel()
	f := newTailFixture(t)
	full := int64(len(f.data))
	rng := rand.New(rand.NewPCG(1, 2))
	for cut := f.before; cut < full; cut += 5 {
		for _, fill := range []string{"zeros", "random", "zeros beyond"} {
			seg := slices.Clone(f.data[:cut])
			switch fill {
			case "zeros":
				seg = append(seg, make([]byte, full-cut)...)
			case "random":
				for range full - cut {
					seg = append(seg, byte(rng.IntN(256)))
				}
			case "zeros beyond":
				seg = append(seg, make([]byte, 4096)...)
			}
			dir, _ := f.variant(t, seg)
			l, err := Open(dir, Options{})
			if err != nil {
				t.Fatalf("cut at %d + %s: %v", cut, fill, err)
			}
			want := f.prev
			if bytes.Equal(seg[:min(len(seg), len(f.data))], f.data) {
				want = f.next // the "garbage" only rewrote zero padding
			}
			checkView(t, "log with garbage tail", l, want)
			l.Close()
		}
	}
	// Zeros after an intact log are cut off too.
	dir, path := f.variant(t, append(slices.Clone(f.data), make([]byte, 8192)...))
	l := mustOpen(t, dir, Options{})
	defer l.Close()
	checkView(t, "zeros after the log", l, f.next)
	if got := fileSize(t, path); got != full {
		t.Fatalf("segment is %d bytes, want %d", got, full)
	}
}

// TestFlippedByte flips every byte of the segment in turn: a flip in the
// last record of the last batch is a torn write (that batch is dropped);
// anywhere else Open fails, naming the file and the damaged record.
func TestFlippedByte(t *testing.T) {
	t.Parallel()
	f := newTailFixture(t)
	recs := recordsOf(t, f.data)
	lastRec := recs[len(recs)-1]
	for p := range int64(len(f.data)) {
		seg := slices.Clone(f.data)
		seg[p] ^= 0x10
		dir, path := f.variant(t, seg)
		l, err := Open(dir, Options{})
		if p >= lastRec.off {
			if err != nil {
				t.Fatalf("flip at %d (last record): %v", p, err)
			}
			checkView(t, "flip in the last record", l, f.prev)
			l.Close()
			continue
		}
		if err == nil {
			l.Close()
			t.Fatalf("flip at %d: Open succeeded", p)
		}
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flip at %d: %v is not a CorruptError", p, err)
		}
		i, _ := slices.BinarySearchFunc(recs, p, func(r fileRecord, p int64) int {
			if r.End <= p {
				return -1
			}
			if r.off > p {
				return 1
			}
			return 0
		})
		if ce.Path != path || ce.Offset != recs[i].off {
			t.Fatalf("flip at %d: error names %s at %d, want %s at %d (%v)", p, ce.Path, ce.Offset, path, recs[i].off, err)
		}
		if got := fileSize(t, path); got != int64(len(seg)) {
			t.Fatalf("flip at %d: failed Open changed the segment", p)
		}
	}
}

// multiSegment writes a log over several segments and returns the
// directory and what it holds.
func multiSegment(t *testing.T) (string, view) {
	t.Helper()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 300})
	for i := uint64(1); i <= 40; i += 4 {
		mustSave(t, l, raft.Ready{Entries: ents(i, i+3, 1), HardState: raft.HardState{Term: 1, Commit: i}, MustSync: true})
	}
	v := viewOf(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(segmentsIn(t, dir)); n < 4 {
		t.Fatalf("only %d segments", n)
	}
	return dir, v
}

// TestDamagedEarlierSegment: a segment that is not the last must be whole.
func TestDamagedEarlierSegment(t *testing.T) {
	t.Parallel()
	dir, _ := multiSegment(t)
	first := filepath.Join(dir, segmentsIn(t, dir)[0])
	data, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	recs := recordsOf(t, data)
	for name, seg := range map[string][]byte{
		"flip in last record": func() []byte { s := slices.Clone(data); s[len(s)-9] ^= 1; return s }(),
		"cut last record":     data[:len(data)-5],
		"cut last batch":      data[:recs[len(recs)-1].off],
		"zeros appended":      append(slices.Clone(data), make([]byte, 64)...),
	} {
		d := copyDir(t, dir)
		if err := os.WriteFile(filepath.Join(d, filepath.Base(first)), seg, 0o640); err != nil {
			t.Fatal(err)
		}
		l, err := Open(d, Options{SegmentSize: 300})
		if err == nil {
			l.Close()
			t.Fatalf("%s: Open succeeded", name)
		}
		var ce *CorruptError
		if !errors.As(err, &ce) || filepath.Base(ce.Path) != filepath.Base(first) {
			t.Fatalf("%s: %v does not name %s", name, err, first)
		}
	}
}

// TestMissingSegment: a segment holding live entries cannot vanish unnoticed.
func TestMissingSegment(t *testing.T) {
	dir, _ := multiSegment(t)
	segs := segmentsIn(t, dir)
	for _, victim := range []string{segs[0], segs[1], segs[len(segs)/2]} {
		d := copyDir(t, dir)
		if err := os.Remove(filepath.Join(d, victim)); err != nil {
			t.Fatal(err)
		}
		l, err := Open(d, Options{SegmentSize: 300})
		if err == nil {
			l.Close()
			t.Fatalf("Open without %s succeeded", victim)
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("without %s: %v", victim, err)
		}
	}
	// A snapshot the log refers to cannot vanish either.
	l := mustOpen(t, dir, Options{SegmentSize: 300})
	if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 10, Term: 1}}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := os.Remove(filepath.Join(dir, snapshotName(10))); err != nil {
		t.Fatal(err)
	}
	if l, err := Open(dir, Options{}); err == nil || !errors.Is(err, ErrCorrupt) {
		if l != nil {
			l.Close()
		}
		t.Fatalf("Open without the snapshot file: %v", err)
	}
}

// TestDeletionLeftovers: segments whose deletion did not reach the disk
// (in any order) are recognized and removed.
func TestDeletionLeftovers(t *testing.T) {
	dir, _ := multiSegment(t)
	old := map[string][]byte{}
	for _, n := range segmentsIn(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		old[n] = b
	}
	l := mustOpen(t, dir, Options{SegmentSize: 300})
	if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 36, Term: 1}}); err != nil {
		t.Fatal(err)
	}
	want := viewOf(t, l)
	l.Close()
	kept := segmentsIn(t, dir)
	var deleted []string
	for n := range old {
		if !slices.Contains(kept, n) {
			deleted = append(deleted, n)
		}
	}
	slices.Sort(deleted)
	if len(deleted) < 3 {
		t.Fatalf("compaction deleted only %v", deleted)
	}
	for _, restore := range [][]string{
		deleted[:1],              // the oldest survived, the others not
		deleted[len(deleted)-1:], // the newest survived (contiguous with the kept ones)
		{deleted[0], deleted[2]}, // a non-contiguous subset
		deleted,                  // none of the deletions survived
		{deleted[1], deleted[len(deleted)-1]},
	} {
		d := copyDir(t, dir)
		for _, n := range restore {
			if err := os.WriteFile(filepath.Join(d, n), old[n], 0o640); err != nil {
				t.Fatal(err)
			}
		}
		l := mustOpen(t, d, Options{SegmentSize: 300})
		checkView(t, "with leftovers "+strings.Join(restore, ","), l, want)
		l.Close()
		if got := segmentsIn(t, d); !slices.Equal(got, kept) {
			t.Fatalf("leftovers %v: segments after Open %v, want %v", restore, got, kept)
		}
	}
}

// forgeRecord builds a record whose header is valid (checksummed) but
// whose length field says n.
func forgeRecord(n uint32) []byte {
	h := record.Header(record.TypeEntries, record.FlagBatchEnd, int64(n), 0)
	return h[:]
}

// TestAbsurdLength: a length field is never believed beyond the file.
func TestAbsurdLength(t *testing.T) {
	f := newTailFixture(t)
	for _, n := range []uint32{0xffff_fff0, maxRecordLen + 1, 1 << 20} {
		// At the tail: a torn write.
		dir, _ := f.variant(t, append(slices.Clone(f.data), forgeRecord(n)...))
		l := mustOpen(t, dir, Options{})
		checkView(t, "absurd length at the tail", l, f.next)
		l.Close()
		// Followed by valid records: corruption.
		seg := slices.Concat(f.data[:f.before], forgeRecord(n), f.data[f.before:])
		dir, _ = f.variant(t, seg)
		if l, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
			if l != nil {
				l.Close()
			}
			t.Fatalf("length %d in the middle: %v", n, err)
		}
	}
}

// TestCrashDuringSnapshot stops Compact and a snapshot-installing Save at
// each step and reopens: the log is the one before or the one after.
func TestCrashDuringSnapshot(t *testing.T) {
	t.Parallel()
	type step struct {
		point string
		lost  bool // cut the segment back to its size before the batch (unsynced write lost)
		after bool // the operation took effect
	}
	steps := []step{
		{"snapshot-temp-written", false, false},
		{"snapshot-renamed", false, false},
		{"batch-written", true, false},
		{"batch-written", false, true},
		{"batch-synced", false, true},
	}
	ops := map[string]func(l *Log, m *raft.MemoryStorage) error{
		"compact": func(l *Log, m *raft.MemoryStorage) error {
			s := raft.Snapshot{Meta: raft.SnapshotMeta{Index: 15, Term: 2, ConfState: raft.ConfState{Voters: []raft.NodeID{1, 2}}}, Data: []byte("at 15")}
			m.Compact(s)
			return l.Compact(s)
		},
		"install": func(l *Log, m *raft.MemoryStorage) error {
			rd := raft.Ready{Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 30, Term: 3, ConfState: raft.ConfState{Voters: []raft.NodeID{3}}}, Data: []byte("at 30")},
				Entries: ents(31, 32, 3), HardState: raft.HardState{Term: 3, Commit: 30}, MustSync: true}
			m.Save(&rd)
			return l.Save(&rd)
		},
	}
	for name, do := range ops {
		for _, s := range steps {
			dir := t.TempDir()
			armed := false
			opts := Options{hook: func(p string) error {
				if armed && p == s.point {
					return errCrash
				}
				return nil
			}}
			m := raft.NewMemoryStorage()
			l := mustOpen(t, dir, opts)
			for _, rd := range []raft.Ready{
				{Entries: ents(1, 10, 1), HardState: raft.HardState{Term: 1, Commit: 10}, MustSync: true},
				{Entries: ents(11, 20, 2), HardState: raft.HardState{Term: 2, Commit: 18}, MustSync: true},
			} {
				mustSave(t, l, rd)
				mustSave(t, m, rd)
			}
			if err := l.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 5, Term: 1}, Data: []byte("at 5")}); err != nil {
				t.Fatal(err)
			}
			m.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 5, Term: 1}, Data: []byte("at 5")})
			before := viewOf(t, m)
			size := fileSize(t, lastSegment(t, dir))
			armed = true
			if err := do(l, m); !errors.Is(err, errCrash) {
				t.Fatalf("%s, crash at %s: %v", name, s.point, err)
			}
			crash(l)
			if s.lost {
				if err := os.Truncate(lastSegment(t, dir), size); err != nil {
					t.Fatal(err)
				}
			}
			want := before
			if s.after {
				want = viewOf(t, m)
			}
			l = mustOpen(t, dir, Options{})
			checkView(t, name+" crashed at "+s.point, l, want)
			var snaps []string
			for _, n := range files(t, dir) {
				if strings.Contains(n, snapExt) {
					snaps = append(snaps, n)
				}
			}
			if wantSnaps := []string{snapshotName(want.Snap.Meta.Index)}; !slices.Equal(snaps, wantSnaps) {
				t.Fatalf("%s crashed at %s: snapshot files %v, want %v", name, s.point, snaps, wantSnaps)
			}
			// And the log goes on.
			next := raft.Ready{Entries: ents(want.Ents[len(want.Ents)-1].Index+1, want.Ents[len(want.Ents)-1].Index+1, 4),
				HardState: raft.HardState{Term: 4, Commit: want.Hard.Commit}, MustSync: true}
			mustSave(t, l, next)
			after := viewOf(t, l)
			l.Close()
			l = mustOpen(t, dir, Options{})
			checkView(t, name+" crashed at "+s.point+", extended", l, after)
			l.Close()
		}
	}
}

// TestCrashDuringRotation: a segment whose header never became durable is
// dropped and the previous one continues.
func TestCrashDuringRotation(t *testing.T) {
	for _, keep := range []int64{0, 1, 15, 16, -2, -1} { // -2: all but its last byte; -1: the whole header survived
		dir := t.TempDir()
		armed := false
		opts := Options{SegmentSize: 200, hook: func(p string) error {
			if armed && p == "segment-written" {
				return errCrash
			}
			return nil
		}}
		l := mustOpen(t, dir, opts)
		for i := uint64(1); fileSize(t, lastSegment(t, dir)) < 200; i += 2 {
			mustSave(t, l, raft.Ready{Entries: ents(i, i+1, 1), HardState: raft.HardState{Term: 1, Commit: i}, MustSync: true})
		}
		want := viewOf(t, l)
		armed = true
		if err := l.Save(&raft.Ready{Entries: ents(want.Ents[len(want.Ents)-1].Index+1, want.Ents[len(want.Ents)-1].Index+1, 1), MustSync: true}); !errors.Is(err, errCrash) {
			t.Fatalf("Save: %v", err)
		}
		crash(l)
		segs := segmentsIn(t, dir)
		if len(segs) != 2 {
			t.Fatalf("segments %v", segs)
		}
		if keep == -2 {
			keep = fileSize(t, filepath.Join(dir, segs[1])) - 1
		}
		if keep >= 0 {
			if err := os.Truncate(filepath.Join(dir, segs[1]), keep); err != nil {
				t.Fatal(err)
			}
		}
		l = mustOpen(t, dir, Options{SegmentSize: 200})
		checkView(t, "after a crash in rotation", l, want)
		if got := segmentsIn(t, dir); keep >= 0 && !slices.Equal(got, segs[:1]) {
			t.Fatalf("header cut at %d: segments %v, want %v", keep, got, segs[:1])
		}
		mustSave(t, l, raft.Ready{Entries: ents(want.Ents[len(want.Ents)-1].Index+1, want.Ents[len(want.Ents)-1].Index+1, 2), MustSync: true})
		after := viewOf(t, l)
		l.Close()
		l = mustOpen(t, dir, Options{SegmentSize: 200})
		checkView(t, "after a crash in rotation, extended", l, after)
		l.Close()
	}
}

// TestFreshLogCrash: a crash while creating the very first segment.
func TestFreshLogCrash(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), []byte{1, 2, 3}, 0o640); err != nil {
		t.Fatal(err)
	}
	l := mustOpen(t, dir, Options{})
	defer l.Close()
	checkView(t, "fresh log", l, view{})
	mustSave(t, l, raft.Ready{Entries: ents(1, 1, 1), MustSync: true})
}
