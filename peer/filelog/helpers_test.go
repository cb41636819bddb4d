package filelog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/peer/storagetest"
)

// errCrash is what test hooks return to stop a write as a crash would.
var errCrash = errors.New("simulated crash")

// Shorthands for the shared test helpers.
var (
	ents      = storagetest.Entries
	viewOf    = storagetest.ViewOf
	checkView = storagetest.CheckView
	mustSave  = storagetest.MustSave
)

type view = storagetest.View

// crash abandons l as a process crash would: file descriptors are closed
// without syncing and the lock is released. (What was written stays in
// the page cache; tests that want it lost cut the files themselves.)
func crash(l *Log) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	l.f.Close()
	if l.lock != nil {
		l.lock.Close()
	}
}

func mustOpen(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return l
}

// files lists the names in dir, sorted.
func files(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func segmentsIn(t testing.TB, dir string) []string {
	t.Helper()
	var segs []string
	for _, n := range files(t, dir) {
		if filepath.Ext(n) == segmentExt {
			segs = append(segs, n)
		}
	}
	return segs
}

// lastSegment returns the path of the newest segment in dir.
func lastSegment(t testing.TB, dir string) string {
	t.Helper()
	segs := segmentsIn(t, dir)
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	return filepath.Join(dir, segs[len(segs)-1])
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, n := range files(t, src) {
		if n == lockName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, n), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// recordsOf returns the records of a segment file (it must be intact).
func recordsOf(t testing.TB, data []byte) []fileRecord {
	t.Helper()
	sc := scanSegment(data)
	if sc.badOff >= 0 {
		t.Fatalf("segment damaged at %d: %v", sc.badOff, sc.badErr)
	}
	var recs []fileRecord
	for _, b := range sc.batches {
		recs = append(recs, b...)
	}
	return recs
}

// forge returns a record of type t holding payload.
func forge(t record.Type, flags uint8, payload []byte) []byte {
	buf, start := record.Begin(nil)
	return record.Finish(append(buf, payload...), start, t, flags)
}
