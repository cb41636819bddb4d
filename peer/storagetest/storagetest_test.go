package storagetest

import (
	"errors"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

var errClosed = errors.New("memstore: closed")

// place is where a memStore keeps what is durable.
type place struct{ durable View }

// memStore is a store in memory that, like wasm/idbstore, defers a Save
// that only moves the commit index until the next write or Close: a crash
// loses it.
type memStore struct {
	*raft.MemoryStorage
	t       testing.TB
	p       *place
	pending bool
	closed  bool
}

func (s *memStore) commitOnly(rd *raft.Ready) bool {
	hs, _, _ := s.InitialState()
	return !rd.MustSync && rd.Snapshot.IsEmpty() && len(rd.Entries) == 0 &&
		rd.HardState.Term == hs.Term && rd.HardState.Vote == hs.Vote
}

func (s *memStore) Save(rd *raft.Ready) error {
	if s.closed {
		return errClosed
	}
	for i := 1; i < len(rd.Entries); i++ {
		if rd.Entries[i].Index != rd.Entries[i-1].Index+1 {
			return errors.New("memstore: entries not contiguous")
		}
	}
	lazy := s.commitOnly(rd)
	next := Memory(s.t, ViewOf(s.t, s.MemoryStorage)) // all or nothing
	if err := next.Save(rd); err != nil {
		return err
	}
	s.MemoryStorage = next
	s.pending = lazy
	if !lazy {
		s.p.durable = ViewOf(s.t, s.MemoryStorage)
	}
	return nil
}

func (s *memStore) Compact(snap raft.Snapshot) error {
	if s.closed {
		return errClosed
	}
	v := ViewOf(s.t, s.MemoryStorage)
	if snap.Meta.Index <= v.Snap.Meta.Index {
		return nil
	}
	if i := snap.Meta.Index - v.Snap.Meta.Index - 1; i >= uint64(len(v.Ents)) || v.Ents[i].Term != snap.Meta.Term {
		return errors.New("memstore: compaction disagrees with the log")
	}
	if err := s.MemoryStorage.Compact(snap); err != nil {
		return err
	}
	s.p.durable = ViewOf(s.t, s.MemoryStorage)
	s.pending = false
	return nil
}

func (s *memStore) Close() error {
	if !s.closed {
		s.p.durable = ViewOf(s.t, s.MemoryStorage)
		s.closed = true
	}
	return nil
}

func memHarness() Harness {
	return Harness{
		New: func(t testing.TB) func(testing.TB) Store {
			p := &place{}
			return func(t testing.TB) Store {
				return &memStore{MemoryStorage: Memory(t, p.durable), t: t, p: p}
			}
		},
		ErrClosed: errClosed,
	}
}

// TestSuiteOnMemory runs the suite against memStore: the suite itself,
// its liberty on the commit index included, is consistent.
func TestSuiteOnMemory(t *testing.T) {
	Run(t, memHarness())
}

func TestStateMatches(t *testing.T) {
	v := View{Hard: raft.HardState{Term: 2, Commit: 7}, Ents: Entries(1, 9, 2)}
	st := state{view: v, durable: 4}
	for _, c := range []struct {
		commit uint64
		want   bool
	}{{3, false}, {4, true}, {7, true}, {8, false}} {
		got := v
		got.Hard.Commit = c.commit
		if st.matches(got) != c.want {
			t.Errorf("commit %d: matches = %v, want %v", c.commit, !c.want, c.want)
		}
	}
	got := v
	got.Ents = Entries(1, 8, 2)
	if st.matches(got) {
		t.Error("a view missing an entry matches")
	}
}

func TestDiff(t *testing.T) {
	a := View{Ents: []raft.Entry{{Index: 1, Term: 1}}, Snap: raft.Snapshot{Data: []byte{}}}
	b := View{Ents: []raft.Entry{{Index: 1, Term: 1, Data: []byte{}}}}
	if d := a.Diff(b); d != "" {
		t.Fatalf("nil and empty differ: %s", d)
	}
	b.Ents[0].Type = raft.EntryConfChange
	if a.Diff(b) == "" {
		t.Fatal("entries of different types do not differ")
	}
	if (View{Conf: raft.ConfState{Voters: []raft.NodeID{1}}}).Diff(View{}) == "" {
		t.Fatal("configurations that differ do not")
	}
}
