package filelog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// errCrash is what test hooks return to stop a write as a crash would.
var errCrash = errors.New("simulated crash")

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

func mustSave(t testing.TB, s interface{ Save(*raft.Ready) error }, rd raft.Ready) {
	t.Helper()
	if err := s.Save(&rd); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

// ents makes entries from..to of the given term with recognizable data.
func ents(from, to, term uint64) []raft.Entry {
	var es []raft.Entry
	for i := from; i <= to; i++ {
		es = append(es, raft.Entry{Index: i, Term: term, Data: fmt.Appendf(nil, "entry %d term %d", i, term)})
	}
	return es
}

// view is everything a Storage returns.
type view struct {
	hard raft.HardState
	conf raft.ConfState
	snap raft.Snapshot
	ents []raft.Entry
}

func viewOf(t testing.TB, s raft.Storage) view {
	t.Helper()
	hs, cs, err := s.InitialState()
	if err != nil {
		t.Fatalf("InitialState: %v", err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	es, err := s.Entries()
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	return view{hs, cs, snap, es}
}

func sameIDs(a, b []raft.NodeID) bool { return slices.Equal(a, b) } // nil == empty

func sameConf(a, b raft.ConfState) bool {
	return sameIDs(a.Voters, b.Voters) && sameIDs(a.Learners, b.Learners) &&
		sameIDs(a.VotersOutgoing, b.VotersOutgoing) && sameIDs(a.LearnersNext, b.LearnersNext)
}

// diff describes how two views differ ("" if they do not).
func (v view) diff(w view) string {
	if v.hard != w.hard {
		return fmt.Sprintf("hard state %+v, want %+v", v.hard, w.hard)
	}
	if !sameConf(v.conf, w.conf) {
		return fmt.Sprintf("conf state %+v, want %+v", v.conf, w.conf)
	}
	if v.snap.Meta.Index != w.snap.Meta.Index || v.snap.Meta.Term != w.snap.Meta.Term ||
		!sameConf(v.snap.Meta.ConfState, w.snap.Meta.ConfState) || !bytes.Equal(v.snap.Data, w.snap.Data) {
		return fmt.Sprintf("snapshot %+v (%d bytes), want %+v (%d bytes)",
			v.snap.Meta, len(v.snap.Data), w.snap.Meta, len(w.snap.Data))
	}
	if len(v.ents) != len(w.ents) {
		return fmt.Sprintf("%d entries %s, want %d %s", len(v.ents), span(v.ents), len(w.ents), span(w.ents))
	}
	for i := range v.ents {
		a, b := v.ents[i], w.ents[i]
		if a.Index != b.Index || a.Term != b.Term || a.Type != b.Type || !bytes.Equal(a.Data, b.Data) {
			return fmt.Sprintf("entry #%d is %d/%d %q, want %d/%d %q", i, a.Index, a.Term, a.Data, b.Index, b.Term, b.Data)
		}
	}
	return ""
}

func span(es []raft.Entry) string {
	if len(es) == 0 {
		return "[]"
	}
	return fmt.Sprintf("[%d..%d]", es[0].Index, es[len(es)-1].Index)
}

func checkView(t testing.TB, what string, got raft.Storage, want view) {
	t.Helper()
	if d := viewOf(t, got).diff(want); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
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
func recordsOf(t testing.TB, data []byte) []record {
	t.Helper()
	sc := scanSegment(data)
	if sc.badOff >= 0 {
		t.Fatalf("segment damaged at %d: %s", sc.badOff, sc.badReason)
	}
	var recs []record
	for _, b := range sc.batches {
		recs = append(recs, b...)
	}
	return recs
}
