package storagetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/tabraft/tabraft/raft"
)

// View is everything a raft.Storage returns.
type View struct {
	Hard raft.HardState
	Conf raft.ConfState
	Snap raft.Snapshot
	Ents []raft.Entry
}

// ViewOf reads everything s returns.
func ViewOf(t testing.TB, s raft.Storage) View {
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
	return View{hs, cs, snap, es}
}

// SameConf reports whether two configurations hold the same lists (nil
// and empty lists are the same).
func SameConf(a, b raft.ConfState) bool {
	return slices.Equal(a.Voters, b.Voters) && slices.Equal(a.Learners, b.Learners) &&
		slices.Equal(a.VotersOutgoing, b.VotersOutgoing) && slices.Equal(a.LearnersNext, b.LearnersNext)
}

// Diff describes how v differs from want ("" if it does not). Empty and
// nil byte slices and node lists are equal.
func (v View) Diff(want View) string {
	if v.Hard != want.Hard {
		return fmt.Sprintf("hard state %+v, want %+v", v.Hard, want.Hard)
	}
	if !SameConf(v.Conf, want.Conf) {
		return fmt.Sprintf("conf state %+v, want %+v", v.Conf, want.Conf)
	}
	if v.Snap.Meta.Index != want.Snap.Meta.Index || v.Snap.Meta.Term != want.Snap.Meta.Term ||
		!SameConf(v.Snap.Meta.ConfState, want.Snap.Meta.ConfState) || !bytes.Equal(v.Snap.Data, want.Snap.Data) {
		return fmt.Sprintf("snapshot %+v (%d bytes), want %+v (%d bytes)",
			v.Snap.Meta, len(v.Snap.Data), want.Snap.Meta, len(want.Snap.Data))
	}
	if len(v.Ents) != len(want.Ents) {
		return fmt.Sprintf("%d entries %s, want %d %s", len(v.Ents), Span(v.Ents), len(want.Ents), Span(want.Ents))
	}
	for i := range v.Ents {
		a, b := v.Ents[i], want.Ents[i]
		if a.Index != b.Index || a.Term != b.Term || a.Type != b.Type || !bytes.Equal(a.Data, b.Data) {
			return fmt.Sprintf("entry #%d is %d/%d/%v %q, want %d/%d/%v %q", i, a.Index, a.Term, a.Type, a.Data, b.Index, b.Term, b.Type, b.Data)
		}
	}
	return ""
}

// Span describes the indexes of es: "[first..last]".
func Span(es []raft.Entry) string {
	if len(es) == 0 {
		return "[]"
	}
	return fmt.Sprintf("[%d..%d]", es[0].Index, es[len(es)-1].Index)
}

// CheckView fails t if s does not hold want.
func CheckView(t testing.TB, what string, s raft.Storage, want View) {
	t.Helper()
	if d := ViewOf(t, s).Diff(want); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

// Memory returns a raft.MemoryStorage holding v.
func Memory(t testing.TB, v View) *raft.MemoryStorage {
	t.Helper()
	m := raft.NewMemoryStorage()
	if !v.Snap.IsEmpty() {
		if err := m.ApplySnapshot(v.Snap); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Append(v.Ents); err != nil {
		t.Fatal(err)
	}
	m.SetHardState(v.Hard)
	return m
}

// Entries makes entries from..to of the given term with recognizable data.
func Entries(from, to, term uint64) []raft.Entry {
	var es []raft.Entry
	for i := from; i <= to; i++ {
		es = append(es, raft.Entry{Index: i, Term: term, Data: fmt.Appendf(nil, "entry %d term %d", i, term)})
	}
	return es
}

// Saver is what MustSave writes to: a peer.Storage or a raft.MemoryStorage.
type Saver interface{ Save(*raft.Ready) error }

// MustSave saves rd in s and fails t if that fails.
func MustSave(t testing.TB, s Saver, rd raft.Ready) {
	t.Helper()
	if err := s.Save(&rd); err != nil {
		t.Fatalf("Save: %v", err)
	}
}
