package storagetest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// testModel runs seeded random sequences of Saves (appends, overwrites of
// the uncommitted tail, commit-only changes, snapshot installs that keep
// or replace the log, refused gaps) and Compacts against a store and a
// raft.MemoryStorage, reopening the store at random points — after Close,
// after a crash, after a crash that tore the last Save — and checks that
// both hold the same thing (with the liberty on the commit index that
// the package documentation describes).
func testModel(t *testing.T, h *Harness) {
	seeds, steps := h.Seeds, h.Steps
	if seeds == 0 {
		seeds = 6
		if testing.Short() {
			seeds = 2
		}
	}
	if steps == 0 {
		steps = 220
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			runModel(t, h, seed, steps)
		})
	}
}

// state is what the model holds at some point, with the commit index a
// crash must not lose.
type state struct {
	view    View
	durable uint64
}

// matches reports whether got is st, but for a commit index between the
// durable one and the latest.
func (st state) matches(got View) bool {
	c := got.Hard.Commit
	got.Hard.Commit = st.view.Hard.Commit
	return got.Diff(st.view) == "" && c >= st.durable && c <= st.view.Hard.Commit
}

type model struct {
	t    *testing.T
	h    *Harness
	rng  *rand.Rand
	open func(testing.TB) Store
	s    Store
	m    *raft.MemoryStorage
	term uint64
	// durable is the commit index as of the last Save that had to be
	// durable; before is the state before the last step, when that step
	// was a Save that changed something (else nil).
	durable uint64
	before  *state
}

func runModel(t *testing.T, h *Harness, seed uint64, steps int) {
	open := h.New(t)
	md := &model{t: t, h: h, rng: rand.New(rand.NewPCG(seed, 0x5eed)), open: open, s: open(t), m: raft.NewMemoryStorage(), term: 1}
	defer func() { md.s.Close() }()
	for step := range steps {
		what := md.step()
		if what == "" {
			continue
		}
		CheckView(t, fmt.Sprintf("seed %d step %d (%s)", seed, step, what), md.s, ViewOf(t, md.m))
		if h.Check != nil {
			h.Check(t, md.s)
		}
	}
	if err := md.s.Close(); err != nil {
		t.Fatal(err)
	}
	md.s = open(t)
	CheckView(t, "final reopen", md.s, ViewOf(t, md.m))
}

func (md *model) data() []byte {
	switch md.rng.IntN(6) {
	case 0:
		return nil
	case 1:
		return make([]byte, 20<<10+md.rng.IntN(20<<10)) // large: records and segments fill up
	}
	b := make([]byte, md.rng.IntN(200))
	for i := range b {
		b[i] = byte(md.rng.Uint32())
	}
	return b
}

func (md *model) entries(from uint64, n int) []raft.Entry {
	es := make([]raft.Entry, n)
	for i := range es {
		es[i] = raft.Entry{Index: from + uint64(i), Term: md.term, Type: raft.EntryType(md.rng.IntN(2)), Data: md.data()}
	}
	return es
}

func termAt(v View, i uint64) uint64 {
	if i == v.Snap.Meta.Index {
		return v.Snap.Meta.Term
	}
	return v.Ents[i-v.Snap.Meta.Index-1].Term
}

// save saves rd in both; durable says whether the store must make it
// durable at once.
func (md *model) save(rd raft.Ready, v View, durable bool) {
	md.t.Helper()
	before := state{v, md.durable}
	MustSave(md.t, md.s, rd)
	MustSave(md.t, md.m, rd)
	if durable {
		hs, _, _ := md.m.InitialState()
		md.durable = hs.Commit
	}
	md.before = &before
}

// step takes one random step and says what it did ("" for none).
func (md *model) step() string {
	t, rng := md.t, md.rng
	v := ViewOf(t, md.m)
	snapIdx, last, commit := v.Snap.Meta.Index, md.m.LastIndex(), v.Hard.Commit
	before := md.before
	md.before = nil
	switch x := rng.IntN(100); {
	case x < 40:
		from := last + 1
		if rng.IntN(4) == 0 && last > max(commit, snapIdx) {
			// A new leader overwrites the uncommitted tail.
			md.term++
			from = max(commit, snapIdx) + 1 + rng.Uint64N(last-max(commit, snapIdx))
		}
		hs := v.Hard
		hs.Term = md.term
		if rng.IntN(3) == 0 {
			hs.Vote = raft.NodeID(1 + rng.IntN(3))
		}
		if rng.IntN(2) == 0 && from-1 > commit {
			hs.Commit = commit + 1 + rng.Uint64N(from-1-commit)
		}
		rd := raft.Ready{Entries: md.entries(from, 1+rng.IntN(12)), HardState: hs, MustSync: true}
		md.save(rd, v, true)
		return fmt.Sprintf("append %s (term %d, commit %d)", Span(rd.Entries), md.term, hs.Commit)
	case x < 54:
		if commit >= last {
			return ""
		}
		hs := v.Hard
		hs.Commit = commit + 1 + rng.Uint64N(last-commit)
		md.save(raft.Ready{HardState: hs}, v, false)
		return fmt.Sprintf("commit %d", hs.Commit)
	case x < 63:
		top := min(commit, last)
		if top <= snapIdx {
			return ""
		}
		i := snapIdx + 1 + rng.Uint64N(top-snapIdx)
		snap := raft.Snapshot{Meta: raft.SnapshotMeta{Index: i, Term: termAt(v, i),
			ConfState: raft.ConfState{Voters: []raft.NodeID{raft.NodeID(1 + rng.IntN(5))}}}, Data: md.data()}
		if err := md.s.Compact(snap); err != nil {
			t.Fatalf("compact %d: %v", i, err)
		}
		if err := md.m.Compact(snap); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("compact %d", i)
	case x < 71:
		i := snapIdx + 1 + rng.Uint64N(last-snapIdx+5)
		meta := raft.SnapshotMeta{Index: i, ConfState: raft.ConfState{Voters: []raft.NodeID{1, 2}, Learners: []raft.NodeID{3}}}
		if i <= last && rng.IntN(2) == 0 {
			meta.Term = termAt(v, i) // agrees with the log: the tail is kept
		} else {
			md.term++
			meta.Term = md.term
		}
		rd := raft.Ready{Snapshot: raft.Snapshot{Meta: meta, Data: md.data()},
			HardState: raft.HardState{Term: max(md.term, v.Hard.Term), Commit: max(i, commit)}, MustSync: true}
		if rng.IntN(2) == 0 {
			rd.Entries = md.entries(i+1-rng.Uint64N(3), 1+rng.IntN(4)) // may begin at or below the snapshot
		}
		lastAfter := i
		if n := len(rd.Entries); n > 0 {
			lastAfter = max(i, rd.Entries[n-1].Index)
		}
		if i <= last && meta.Term == termAt(v, i) {
			lastAfter = max(lastAfter, last)
		}
		rd.HardState.Commit = min(rd.HardState.Commit, lastAfter)
		md.save(rd, v, true)
		return fmt.Sprintf("install snapshot %d/%d + %s", i, meta.Term, Span(rd.Entries))
	case x < 76:
		rd := raft.Ready{Entries: md.entries(last+2, 1), HardState: raft.HardState{Term: md.term + 1}, MustSync: true}
		if err := md.s.Save(&rd); err == nil {
			t.Fatal("Save of a gap succeeded")
		}
		if err := md.m.Save(&rd); err == nil {
			t.Fatal("MemoryStorage accepted a gap")
		}
		return "refused gap"
	case x < 87:
		if err := md.s.Close(); err != nil {
			t.Fatal(err)
		}
		md.s = md.open(t)
		return "close and reopen"
	default:
		after := state{v, md.durable}
		states := []state{after}
		what := "crash and reopen"
		if before != nil && md.h.Tear != nil && rng.IntN(2) == 0 {
			frac := rng.Float64()
			if md.h.Tear(t, md.s, frac) {
				states = []state{*before, after}
				what = fmt.Sprintf("crash tearing the last Save at %.2f", frac)
			}
		} else {
			md.h.crash(t, md.s)
		}
		md.s = md.open(t)
		got := ViewOf(t, md.s)
		for _, st := range states {
			if st.matches(got) {
				if c := st.view.Hard.Commit; got.Hard.Commit < c {
					what = fmt.Sprintf("%s: commit %d came back as %d", what, c, got.Hard.Commit)
				}
				md.durable = min(st.durable, got.Hard.Commit)
				md.m = Memory(t, got)
				return what
			}
		}
		t.Fatalf("%s: the store holds commit %d and %s; want the model with a commit index from %d to %d (%s)",
			what, got.Hard.Commit, Span(got.Ents), after.durable, after.view.Hard.Commit, got.Diff(after.view))
	}
	return ""
}
