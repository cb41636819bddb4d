//go:build js && wasm

package idbstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// TestMatchesMemoryStorage runs seeded random sequences of Saves (appends,
// overwrites of the uncommitted tail, commit-only changes, snapshot
// installs that keep or replace the log, invalid Readys) and Compacts
// against a Store and a raft.MemoryStorage, reopening the Store at random
// points — after Close, or abandoning it open as a crashed tab does — and
// checks that both always hold the same thing, and that the records in
// IndexedDB are the ones the Store believes are there.
func TestMatchesMemoryStorage(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			runModel(t, seed, 250)
		})
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0x1db))
	name := testName(t)
	s := mustOpen(t, name)
	var abandoned []*Store
	defer func() {
		s.Close()
		for _, a := range abandoned {
			a.Close()
		}
	}()
	r := openRaw(t, name)
	m := raft.NewMemoryStorage()
	term := uint64(1)

	randData := func() []byte {
		switch rng.IntN(6) {
		case 0:
			return nil
		case 1:
			return make([]byte, 20<<10+rng.IntN(20<<10)) // large: records split
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
	both := func(rd raft.Ready) {
		t.Helper()
		mustSave(t, s, rd)
		mustSave(t, m, rd)
	}

	for step := range steps {
		v := viewOf(t, m)
		snapIdx, last, commit := v.snap.Meta.Index, m.LastIndex(), v.hard.Commit
		var what string
		switch x := rng.IntN(100); {
		case x < 40:
			from := last + 1
			if rng.IntN(4) == 0 && last > max(commit, snapIdx) {
				// A new leader overwrites the uncommitted tail.
				term++
				from = max(commit, snapIdx) + 1 + rng.Uint64N(last-max(commit, snapIdx))
			}
			hs := v.hard
			hs.Term = term
			if rng.IntN(3) == 0 {
				hs.Vote = raft.NodeID(1 + rng.IntN(3))
			}
			if rng.IntN(2) == 0 && from-1 > commit {
				hs.Commit = commit + 1 + rng.Uint64N(from-1-commit)
			}
			rd := raft.Ready{Entries: newEntries(from, 1+rng.IntN(12)), HardState: hs, MustSync: true}
			what = fmt.Sprintf("append %s (term %d, commit %d)", span(rd.Entries), term, hs.Commit)
			both(rd)
		case x < 52:
			if commit >= last {
				continue
			}
			hs := v.hard
			hs.Commit = commit + 1 + rng.Uint64N(last-commit)
			what = fmt.Sprintf("commit %d", hs.Commit)
			both(raft.Ready{HardState: hs})
		case x < 62:
			top := min(commit, last)
			if top <= snapIdx {
				continue
			}
			i := snapIdx + 1 + rng.Uint64N(top-snapIdx)
			snap := raft.Snapshot{Meta: raft.SnapshotMeta{Index: i, Term: termAt(v, i),
				ConfState: raft.ConfState{Voters: []raft.NodeID{raft.NodeID(1 + rng.IntN(5))}}}, Data: randData()}
			what = fmt.Sprintf("compact %d", i)
			if err := s.Compact(snap); err != nil {
				t.Fatalf("step %d %s: %v", step, what, err)
			}
			if err := m.Compact(snap); err != nil {
				t.Fatal(err)
			}
		case x < 70:
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
				rd.Entries = newEntries(i+1-rng.Uint64N(3), 1+rng.IntN(4)) // may begin at or below the snapshot
			}
			lastAfter := i
			if n := len(rd.Entries); n > 0 {
				lastAfter = max(i, rd.Entries[n-1].Index)
			}
			if i <= last && meta.Term == termAt(v, i) {
				lastAfter = max(lastAfter, last)
			}
			rd.HardState.Commit = min(rd.HardState.Commit, lastAfter)
			what = fmt.Sprintf("install snapshot %d/%d + %s", i, meta.Term, span(rd.Entries))
			both(rd)
		case x < 76:
			// Invalid: both refuse it and change nothing.
			rd := raft.Ready{Entries: newEntries(last+2, 1), HardState: raft.HardState{Term: term + 1}}
			what = "refused gap"
			if err := s.Save(&rd); err == nil {
				t.Fatalf("step %d: Save of a gap succeeded", step)
			}
			if err := m.Save(&rd); err == nil {
				t.Fatal("MemoryStorage accepted a gap")
			}
		case x < 88:
			what = "close and reopen"
			s = reopen(t, s)
		default:
			what = "abandon and reopen"
			abandoned = append(abandoned, s)
			s = mustOpen(t, name)
		}
		checkView(t, fmt.Sprintf("seed %d step %d (%s)", seed, step, what), s, viewOf(t, m))
		if got := r.logKeys(); !slices.Equal(got, s.runs) {
			t.Fatalf("seed %d step %d (%s): records at %v, the store believes %v", seed, step, what, got, s.runs)
		}
	}
	s = reopen(t, s)
	checkView(t, "final reopen", s, viewOf(t, m))
}
