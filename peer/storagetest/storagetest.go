// Package storagetest checks durable implementations of peer.Storage, in
// the manner of testing/fstest: a store's tests call Run with a Harness
// that says how to make, reopen and crash that kind of store, and the suite
// checks what every such store must do.
//
//   - What is saved reads back the same, before and after the store is
//     closed and opened again: entries (their type, and nil data as nil),
//     hard states, snapshots with their configuration.
//   - Entries that overwrite stored ones drop the stored suffix from their
//     first index on; entries at or below the snapshot are skipped.
//   - Compact drops the entries a snapshot covers, ignores a snapshot not
//     newer than the stored one and refuses one beyond the log or
//     disagreeing with it; a snapshot installed by Save keeps the entries
//     after it when the log agrees with it and replaces the log otherwise.
//   - An invalid Ready (a gap, entries out of order, an old snapshot) is
//     refused and changes nothing; the store stays usable.
//   - Writes after Close fail.
//   - Seeded random sequences of all of the above, with reopens and
//     crashes at random points, keep the store equal to raft.MemoryStorage.
//   - A raft.Node, and three live peer.Nodes, restarted on their stores
//     get back everything committed.
//
// The one liberty the suite allows a store: a Save that only moves the
// commit index (no entries, no snapshot, same term and vote, MustSync
// false) need not be durable until a later Save that must be; after a
// crash the commit index may be anywhere from the one of that last
// durable Save to the latest. Raft does not need the commit index
// persisted (a restarted member learns it again), and peer.Node rebuilds
// its state machine from the snapshot and the committed log on start.
//
// The helpers (View, Entries, MustSave, Member, ...) serve a store's own
// tests too.
package storagetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
)

// Store is a durable peer.Storage.
type Store interface {
	peer.Storage
	// LastIndex returns the index of the last stored entry (or of the
	// snapshot).
	LastIndex() uint64
	// Close makes everything saved durable and releases the store.
	Close() error
}

// Harness says how to make the stores the suite checks.
type Harness struct {
	// New prepares a new, empty place for a store (a directory, a
	// database), to be removed when t ends, and returns the function that
	// opens the store there. The suite opens a place's store again only
	// after closing (Close) or crashing (Crash, Tear) the one open there.
	// Required.
	New func(t testing.TB) (open func(t testing.TB) Store)
	// Crash abandons s as a crash of its process (or tab) would: without
	// Close. Nil: s is left open (and closed when the test ends), which
	// suits stores that do not lock their place.
	Crash func(t testing.TB, s Store)
	// Tear, if set, crashes s in the middle of its last Save, cutting what
	// that Save wrote at the fraction frac (0 <= frac < 1) of its length,
	// and reports whether it could (it crashes s either way). The store
	// must then open holding what it held before that Save or after it.
	Tear func(t testing.TB, s Store, frac float64) bool
	// Check, if set, runs after every step of the random model test: a
	// store's own invariants (its files, its records).
	Check func(t testing.TB, s Store)
	// ErrClosed, if set, is the error (errors.Is) of writes after Close.
	ErrClosed error
	// Seeds and Steps size the random model test: 6 seeds of 220 steps
	// when zero (2 seeds with -short).
	Seeds, Steps int
}

// Run runs the suite against the stores h makes, as subtests of t.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("storagetest: Harness.New is required")
	}
	for _, c := range []struct {
		name string
		test func(*testing.T, *Harness)
	}{
		{"Empty", testEmpty},
		{"RoundTrip", testRoundTrip},
		{"OverwriteSuffix", testOverwriteSuffix},
		{"Snapshots", testSnapshots},
		{"InvalidReadys", testInvalidReadys},
		{"Closed", testClosed},
		{"Model", testModel},
		{"Member", testMember},
		{"Members", testMembers},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, &h) })
	}
}

// crash abandons s as the harness says.
func (h *Harness) crash(t testing.TB, s Store) {
	t.Helper()
	if h.Crash != nil {
		h.Crash(t, s)
		return
	}
	t.Cleanup(func() { s.Close() })
}

// fixture is one place with its store open, beside a MemoryStorage that
// receives the same writes.
type fixture struct {
	t    *testing.T
	h    *Harness
	open func(testing.TB) Store
	s    Store
	m    *raft.MemoryStorage
}

func newFixture(t *testing.T, h *Harness) *fixture {
	t.Helper()
	open := h.New(t)
	f := &fixture{t: t, h: h, open: open, s: open(t), m: raft.NewMemoryStorage()}
	t.Cleanup(func() { f.s.Close() })
	return f
}

// reopen closes the store and opens it again.
func (f *fixture) reopen() {
	f.t.Helper()
	if err := f.s.Close(); err != nil {
		f.t.Fatalf("Close: %v", err)
	}
	f.s = f.open(f.t)
}

// save saves rd in both.
func (f *fixture) save(rd raft.Ready) {
	f.t.Helper()
	MustSave(f.t, f.s, rd)
	MustSave(f.t, f.m, rd)
}

func (f *fixture) compact(snap raft.Snapshot) {
	f.t.Helper()
	if err := f.s.Compact(snap); err != nil {
		f.t.Fatalf("Compact(%d/%d): %v", snap.Meta.Index, snap.Meta.Term, err)
	}
	if err := f.m.Compact(snap); err != nil {
		f.t.Fatalf("MemoryStorage.Compact(%d/%d): %v", snap.Meta.Index, snap.Meta.Term, err)
	}
}

// check compares the store with the MemoryStorage, reopens it and
// compares again.
func (f *fixture) check(what string) {
	f.t.Helper()
	want := ViewOf(f.t, f.m)
	CheckView(f.t, what, f.s, want)
	f.reopen()
	CheckView(f.t, what+", reopened", f.s, want)
	if got, want := f.s.LastIndex(), f.m.LastIndex(); got != want {
		f.t.Fatalf("%s: LastIndex = %d, want %d", what, got, want)
	}
}

func testEmpty(t *testing.T, h *Harness) {
	f := newFixture(t, h)
	CheckView(t, "new store", f.s, View{})
	f.check("empty store")
	if got := f.s.LastIndex(); got != 0 {
		t.Fatalf("LastIndex = %d, want 0", got)
	}
}

func testRoundTrip(t *testing.T, h *Harness) {
	f := newFixture(t, h)
	for i, rd := range []raft.Ready{
		{HardState: raft.HardState{Term: 1, Vote: 2}, MustSync: true},
		{Entries: Entries(1, 3, 1), HardState: raft.HardState{Term: 1, Vote: 2, Commit: 1}, MustSync: true},
		{HardState: raft.HardState{Term: 1, Vote: 2, Commit: 2}},
		{Entries: []raft.Entry{{Index: 4, Term: 1, Type: raft.EntryConfChange, Data: []byte{0, 1, 2, 255}}, {Index: 5, Term: 1}}, MustSync: true},
		{HardState: raft.HardState{Term: 1, Vote: 2, Commit: 5}},
		{Entries: Entries(6, 9, 1), HardState: raft.HardState{Term: 1, Vote: 2, Commit: 7}, MustSync: true},
		// The cluster id is part of the hard state, up to 2^53-1.
		{Entries: Entries(10, 10, 2), HardState: raft.HardState{Term: 2, Commit: 9, Cluster: 1<<53 - 1}, MustSync: true},
	} {
		f.save(rd)
		f.check(fmt.Sprintf("save #%d", i))
		if i == 3 {
			// An entry without data comes back without data, not empty.
			if es, _ := f.s.Entries(); es[4].Data != nil {
				t.Fatalf("entry 5 data = %#v, want nil", es[4].Data)
			}
		}
	}
	// Everything above was durable: a crash keeps it all.
	want := ViewOf(t, f.m)
	h.crash(t, f.s)
	f.s = f.open(t)
	CheckView(t, "after a crash", f.s, want)
}

func testOverwriteSuffix(t *testing.T, h *Harness) {
	f := newFixture(t, h)
	for i, rd := range []raft.Ready{
		{Entries: Entries(1, 3, 1), HardState: raft.HardState{Term: 1, Commit: 2}},
		{Entries: Entries(4, 7, 1)},
		{Entries: Entries(8, 10, 1)},
		{Entries: Entries(6, 7, 2), HardState: raft.HardState{Term: 2, Commit: 2}}, // drops 8..10
		{Entries: Entries(8, 12, 2)},
		{Entries: Entries(8, 8, 3), HardState: raft.HardState{Term: 3, Commit: 2}}, // the last entry of a Save
		{Entries: Entries(3, 4, 4), HardState: raft.HardState{Term: 4, Commit: 2}}, // everything after the commit
		{Entries: Entries(5, 6, 4)},
	} {
		rd.MustSync = true
		f.save(rd)
		f.check(fmt.Sprintf("save #%d %s", i, Span(rd.Entries)))
	}
	if es, _ := f.s.Entries(); Span(es) != "[1..6]" || es[1].Term != 1 || es[2].Term != 4 {
		t.Fatalf("entries %s (terms %d, %d), want 1..2 of term 1 and 3..6 of term 4", Span(es), es[1].Term, es[2].Term)
	}
}

func testSnapshots(t *testing.T, h *Harness) {
	f := newFixture(t, h)
	for _, rd := range []raft.Ready{
		{Entries: Entries(1, 4, 1), HardState: raft.HardState{Term: 1, Commit: 4}},
		{Entries: Entries(5, 8, 1), HardState: raft.HardState{Term: 1, Commit: 8}},
		{Entries: Entries(9, 12, 2), HardState: raft.HardState{Term: 2, Commit: 12}},
	} {
		rd.MustSync = true
		f.save(rd)
	}
	f.check("three saves")
	conf := raft.ConfState{Voters: []raft.NodeID{1, 2, 3}, Learners: []raft.NodeID{1 << 60}}
	snap := func(i, term uint64, data string) raft.Snapshot {
		return raft.Snapshot{Meta: raft.SnapshotMeta{Index: i, Term: term, ConfState: conf}, Data: []byte(data)}
	}

	f.compact(snap(6, 1, "state at 6"))
	f.check("compacted at 6")
	if err := f.s.Compact(snap(3, 1, "old")); err != nil {
		t.Fatalf("Compact of an older snapshot: %v, want it ignored", err)
	}
	if err := f.s.Compact(snap(13, 2, "future")); err == nil {
		t.Fatal("Compact beyond the last index succeeded")
	}
	if err := f.s.Compact(snap(10, 1, "wrong term")); err == nil {
		t.Fatal("Compact with the wrong term succeeded")
	}
	f.check("ignored and refused compactions")
	f.compact(snap(8, 1, "state at 8"))
	f.check("compacted at 8")
	f.compact(snap(12, 2, "state at 12"))
	f.check("compacted the whole log")

	for _, rd := range []raft.Ready{
		{Entries: Entries(13, 16, 2), HardState: raft.HardState{Term: 2, Commit: 14}},
		{Entries: Entries(17, 20, 3), HardState: raft.HardState{Term: 3, Commit: 14}},
	} {
		rd.MustSync = true
		f.save(rd)
	}
	f.check("appended after the snapshot")

	// A leader's snapshot that agrees with the log keeps what follows it.
	f.save(raft.Ready{Snapshot: snap(15, 2, "leader's 15"), HardState: raft.HardState{Term: 3, Commit: 15}, MustSync: true})
	f.check("installed a snapshot the log agrees with")
	if es, _ := f.s.Entries(); Span(es) != "[16..20]" {
		t.Fatalf("entries %s, want [16..20]", Span(es))
	}
	// One that does not replaces the log, and entries may come with it.
	f.save(raft.Ready{Snapshot: snap(18, 4, "leader's 18"), Entries: Entries(19, 19, 4), HardState: raft.HardState{Term: 4, Commit: 18}, MustSync: true})
	f.check("installed a snapshot the log disagrees with")
	// Beyond the log.
	f.save(raft.Ready{Snapshot: snap(40, 5, "leader's 40"), HardState: raft.HardState{Term: 5, Commit: 40}, MustSync: true})
	f.check("installed a snapshot beyond the log")
	if _, cs, _ := f.s.InitialState(); !SameConf(cs, conf) {
		t.Fatalf("configuration %+v, want the snapshot's %+v", cs, conf)
	}
	// Entries at or below the snapshot are skipped.
	f.save(raft.Ready{Entries: Entries(39, 42, 5), MustSync: true})
	f.check("entries overlapping the snapshot")
	// A Save without a snapshot or hard state keeps both.
	f.save(raft.Ready{Entries: Entries(43, 43, 5), MustSync: true})
	f.check("entries only")
}

func testInvalidReadys(t *testing.T, h *Harness) {
	f := newFixture(t, h)
	f.save(raft.Ready{Entries: Entries(1, 5, 1), HardState: raft.HardState{Term: 1, Commit: 3}, MustSync: true})
	f.compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 3, Term: 1}})
	for _, c := range []struct {
		what string
		rd   raft.Ready
	}{
		{"gap", raft.Ready{Entries: Entries(7, 8, 1), HardState: raft.HardState{Term: 9}}},
		{"not contiguous", raft.Ready{Entries: append(Entries(6, 6, 1), Entries(8, 8, 1)...)}},
		{"old snapshot", raft.Ready{Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 3, Term: 1}}, HardState: raft.HardState{Term: 9}}},
		{"snapshot then a gap", raft.Ready{Snapshot: raft.Snapshot{Meta: raft.SnapshotMeta{Index: 10, Term: 2}}, Entries: Entries(12, 12, 2)}},
	} {
		rd := c.rd
		rd.MustSync = true
		if err := f.s.Save(&rd); err == nil {
			t.Errorf("%s: Save succeeded", c.what)
		}
		CheckView(t, c.what, f.s, ViewOf(t, f.m))
	}
	f.check("after refused Saves")
	// Refusals are not failures: the store stays usable.
	f.save(raft.Ready{Entries: Entries(1, 6, 1), MustSync: true}) // 1..3 are covered
	f.check("after a Save partly covered by the snapshot")
	if es, _ := f.s.Entries(); Span(es) != "[4..6]" {
		t.Fatalf("entries %s, want [4..6]", Span(es))
	}
}

func testClosed(t *testing.T, h *Harness) {
	f := newFixture(t, h)
	f.save(raft.Ready{Entries: Entries(1, 2, 1), HardState: raft.HardState{Term: 1}, MustSync: true})
	if err := f.s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s after Close succeeded", what)
		}
		if h.ErrClosed != nil && !errors.Is(err, h.ErrClosed) {
			t.Fatalf("%s after Close: %v, want %v", what, err, h.ErrClosed)
		}
	}
	check("Save", f.s.Save(&raft.Ready{Entries: Entries(3, 3, 1), MustSync: true}))
	check("Compact", f.s.Compact(raft.Snapshot{Meta: raft.SnapshotMeta{Index: 1, Term: 1}}))
	f.s = f.open(t)
	CheckView(t, "reopened", f.s, ViewOf(t, f.m))
}
