package filelog

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// memoryFrom rebuilds a MemoryStorage holding v.
func memoryFrom(t *testing.T, v view) *raft.MemoryStorage {
	t.Helper()
	m := raft.NewMemoryStorage()
	if !v.snap.IsEmpty() {
		if err := m.ApplySnapshot(v.snap); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Append(v.ents); err != nil {
		t.Fatal(err)
	}
	m.SetHardState(v.hard)
	return m
}

// TestMatchesMemoryStorage runs random sequences of Saves (appends,
// overwrites of the uncommitted tail, commit-only changes, snapshot
// installs that keep or replace the log) and Compacts against a Log and a
// raft.MemoryStorage, reopening the Log at random points — cleanly, after
// a crash, and after a crash that tore the last unacknowledged batch — and
// checks that both always hold the same thing.
func TestMatchesMemoryStorage(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			runMirror(t, seed, 220)
		})
	}
}

func runMirror(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	dir := t.TempDir()
	opts := Options{SegmentSize: int64(200 << rng.IntN(5))}
	l := mustOpen(t, dir, opts)
	defer func() { l.Close() }()
	m := raft.NewMemoryStorage()
	term := uint64(1)

	// What the last write was, to tear it on a later crash.
	var lastWrite struct {
		ok      bool // a plain Save (no snapshot) that wrote something
		seg     string
		size    int64 // the segment's size before it
		before  view
		written bool
	}

	randData := func() []byte {
		if rng.IntN(5) == 0 {
			return nil
		}
		b := make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	newEntries := func(from uint64, n int) []raft.Entry {
		es := make([]raft.Entry, n)
		for i := range es {
			es[i] = raft.Entry{Index: from + uint64(i), Term: term, Type: raft.EntryType(rng.IntN(2)), Data: randData()}
		}
		return es
	}
	termAt := func(v view, i uint64) uint64 {
		if i == v.snap.Meta.Index {
			return v.snap.Meta.Term
		}
		return v.ents[i-v.snap.Meta.Index-1].Term
	}

	for step := range steps {
		v := viewOf(t, m)
		snapIdx, last, commit := v.snap.Meta.Index, m.LastIndex(), v.hard.Commit
		segBefore := lastSegment(t, dir)
		sizeBefore := fileSize(t, segBefore)
		plainSave := false
		var what string

		switch r := rng.IntN(100); {
		case r < 45:
			from := last + 1
			if rng.IntN(4) == 0 && last > max(commit, snapIdx) {
				// A new leader overwrites the uncommitted tail.
				term++
				from = max(commit, snapIdx) + 1 + rng.Uint64N(last-max(commit, snapIdx))
			}
			hs := v.hard
			hs.Term = term
			if rng.IntN(2) == 0 && from-1 > commit {
				hs.Commit = commit + 1 + rng.Uint64N(from-1-commit)
			}
			rd := raft.Ready{Entries: newEntries(from, 1+rng.IntN(8)), HardState: hs, MustSync: true}
			what = fmt.Sprintf("append %s (term %d, commit %d)", span(rd.Entries), term, hs.Commit)
			mustSave(t, l, rd)
			mustSave(t, m, rd)
			plainSave = true
		case r < 58:
			if commit >= last {
				continue
			}
			hs := v.hard
			hs.Commit = commit + 1 + rng.Uint64N(last-commit)
			rd := raft.Ready{HardState: hs}
			what = fmt.Sprintf("commit %d", hs.Commit)
			mustSave(t, l, rd)
			mustSave(t, m, rd)
			plainSave = true
		case r < 68:
			if top := min(commit, last); top > snapIdx {
				i := snapIdx + 1 + rng.Uint64N(top-snapIdx)
				snap := raft.Snapshot{Meta: raft.SnapshotMeta{Index: i, Term: termAt(v, i),
					ConfState: raft.ConfState{Voters: []raft.NodeID{raft.NodeID(1 + rng.IntN(5))}}}, Data: randData()}
				what = fmt.Sprintf("compact %d", i)
				if err := l.Compact(snap); err != nil {
					t.Fatalf("step %d %s: %v", step, what, err)
				}
				if err := m.Compact(snap); err != nil {
					t.Fatal(err)
				}
			}
		case r < 76:
			i := snapIdx + 1 + rng.Uint64N(last-snapIdx+5)
			meta := raft.SnapshotMeta{Index: i, ConfState: raft.ConfState{Voters: []raft.NodeID{1, 2}, Learners: []raft.NodeID{3}}}
			if i <= last && rng.IntN(2) == 0 {
				meta.Term = termAt(v, i) // agrees with the log: the tail is kept
			} else {
				term++
				meta.Term = term
			}
			rd := raft.Ready{Snapshot: raft.Snapshot{Meta: meta, Data: randData()},
				HardState: raft.HardState{Term: max(term, v.hard.Term), Commit: max(i, commit)}, MustSync: true}
			if rng.IntN(2) == 0 {
				rd.Entries = newEntries(i+1, 1+rng.IntN(4))
			}
			lastAfter := i + uint64(len(rd.Entries))
			if i <= last && meta.Term == termAt(v, i) {
				lastAfter = max(lastAfter, last)
			}
			rd.HardState.Commit = min(rd.HardState.Commit, lastAfter)
			what = fmt.Sprintf("install snapshot %d/%d + %s", i, meta.Term, span(rd.Entries))
			mustSave(t, l, rd)
			mustSave(t, m, rd)
		case r < 86:
			what = "close and reopen"
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, dir, opts)
		default:
			what = "crash and reopen"
			crash(l)
			if lastWrite.ok && lastWrite.written && rng.IntN(2) == 0 {
				// The last Save had not returned: cut its batch anywhere.
				size := fileSize(t, lastWrite.seg)
				cut := lastWrite.size + rng.Int64N(size-lastWrite.size)
				if err := os.Truncate(lastWrite.seg, cut); err != nil {
					t.Fatal(err)
				}
				m = memoryFrom(t, lastWrite.before)
				what = fmt.Sprintf("crash tearing the last batch at %d", cut)
			}
			l = mustOpen(t, dir, opts)
		}
		checkView(t, fmt.Sprintf("step %d (%s)", step, what), l, viewOf(t, m))

		lastWrite.ok = plainSave
		if plainSave {
			lastWrite.seg, lastWrite.size, lastWrite.before = segBefore, sizeBefore, v
			lastWrite.written = lastSegment(t, dir) == segBefore && fileSize(t, segBefore) > sizeBefore
		}
	}
}
