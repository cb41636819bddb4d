package filelog

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tabraft/tabraft/peer/storagetest"
	"github.com/tabraft/tabraft/raft"
)

// tearable is a Log that remembers where its last Save wrote, so that a
// test can tear that write as a crash in the middle of it would.
type tearable struct {
	*Log
	seg    string
	before int64 // the segment's size before the last Save; -1: the last write cannot be torn
}

// Save implements peer.Storage.
func (w *tearable) Save(rd *raft.Ready) error {
	w.before = -1
	w.mu.Lock()
	seq, size := w.seq, w.size
	w.mu.Unlock()
	err := w.Log.Save(rd)
	w.mu.Lock()
	defer w.mu.Unlock()
	// Only a Save that appended to the same segment, and wrote no
	// snapshot file, is undone by cutting the segment.
	if err == nil && rd.Snapshot.IsEmpty() && w.seq == seq && w.size > size {
		w.seg, w.before = w.path(segmentName(seq)), size
	}
	return err
}

// Compact implements peer.Storage.
func (w *tearable) Compact(snap raft.Snapshot) error {
	w.before = -1
	return w.Log.Compact(snap)
}

// TestStorage runs the storagetest suite, each store with another segment
// size (small ones rotate at almost every Save).
func TestStorage(t *testing.T) {
	sizes := []int64{200, 400, 800, 1600, 3200, 0}
	n := 0
	storagetest.Run(t, storagetest.Harness{
		New: func(t testing.TB) func(testing.TB) storagetest.Store {
			dir, opts := t.TempDir(), Options{SegmentSize: sizes[n%len(sizes)]}
			n++
			return func(t testing.TB) storagetest.Store {
				return &tearable{Log: mustOpen(t, dir, opts), before: -1}
			}
		},
		Crash: func(t testing.TB, s storagetest.Store) { crash(s.(*tearable).Log) },
		Tear: func(t testing.TB, s storagetest.Store, frac float64) bool {
			w := s.(*tearable)
			crash(w.Log)
			if w.before < 0 {
				return false
			}
			size := fileSize(t, w.seg)
			if err := os.Truncate(w.seg, w.before+int64(frac*float64(size-w.before))); err != nil {
				t.Fatal(err)
			}
			return true
		},
		Check:     checkFiles,
		ErrClosed: ErrClosed,
	})
}

// checkFiles checks that the files in the Log's directory are the ones
// it believes are there.
func checkFiles(t testing.TB, s storagetest.Store) {
	t.Helper()
	l := s.(*tearable).Log
	l.mu.Lock()
	var want []string
	for _, seq := range l.segments {
		want = append(want, segmentName(seq))
	}
	for _, idx := range l.snaps {
		want = append(want, snapshotName(idx))
	}
	dir := l.dir
	l.mu.Unlock()
	var got []string
	for _, n := range files(t, dir) {
		if ext := filepath.Ext(n); ext == segmentExt || ext == snapExt {
			got = append(got, n)
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, the log believes %v", got, want)
	}
}
