//go:build js && wasm

package idbstore

import (
	"fmt"
	"slices"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/raft"
)

type opKind uint8

const (
	opClear       opKind = iota + 1 // delete every entries record
	opDeleteBelow                   // delete the entries records with keys < index
	opDeleteFrom                    // delete the entries records with keys >= index
	opPutRun                        // store ents as one record
	opPutHard
	opPutSnap
	opPutFormat // the format version, into a store that has none
)

func (k opKind) String() string {
	switch k {
	case opClear:
		return "clear"
	case opDeleteBelow:
		return "delete below"
	case opDeleteFrom:
		return "delete from"
	case opPutRun:
		return "put entries"
	case opPutHard:
		return "put hard state"
	case opPutSnap:
		return "put snapshot"
	case opPutFormat:
		return "put format"
	}
	return fmt.Sprintf("op %d", uint8(k))
}

type op struct {
	kind  opKind
	index uint64
	ents  []raft.Entry
	hard  raft.HardState
	snap  *raft.Snapshot
}

// plan is one write: the requests of its transaction, in order, and the
// record keys once it has committed. A lazy plan only moves the commit
// index: Save defers it (see Store.Save).
type plan struct {
	ops    []op
	runs   []uint64
	strict bool
	lazy   bool
}

// fold adds to a plan that writes anything what the store still owes
// IndexedDB: the hard state of deferred Saves (hard: the one in memory
// before the plan), the format version.
func (s *Store) fold(p *plan, hard raft.HardState) {
	if len(p.ops) == 0 {
		return
	}
	if s.pending && !slices.ContainsFunc(p.ops, func(o op) bool { return o.kind == opPutHard }) {
		p.ops = append(p.ops, op{kind: opPutHard, hard: hard})
	}
	if s.needFormat {
		p.ops = append(p.ops, op{kind: opPutFormat})
	}
}

// logView is what planning needs to know of the stored log, taken from
// the in-memory copy. Entries are only fetched (copied) when needed.
type logView struct {
	mem        *raft.MemoryStorage
	snapIndex  uint64
	snapTerm   uint64
	last       uint64
	hard       raft.HardState
	ents       []raft.Entry // after snapIndex; nil until fetched
	entsLoaded bool
}

func (s *Store) view() *logView {
	snap, _ := s.mem.Snapshot()
	hard, _, _ := s.mem.InitialState()
	return &logView{mem: s.mem, snapIndex: snap.Meta.Index, snapTerm: snap.Meta.Term, last: s.mem.LastIndex(), hard: hard}
}

func (v *logView) entries() []raft.Entry {
	if !v.entsLoaded {
		v.ents, _ = v.mem.Entries()
		v.entsLoaded = true
	}
	return v.ents
}

// term returns the term of the snapshot or of a stored entry.
func (v *logView) term(i uint64) (uint64, bool) {
	switch {
	case i == v.snapIndex:
		return v.snapTerm, true
	case i > v.snapIndex && i <= v.last:
		return v.entries()[i-v.snapIndex-1].Term, true
	}
	return 0, false
}

// slice returns the stored entries [from, to].
func (v *logView) slice(from, to uint64) []raft.Entry {
	if from > to {
		return nil
	}
	return v.entries()[from-v.snapIndex-1 : to-v.snapIndex]
}

// runOf returns the position in runs of the record holding index i.
func runOf(runs []uint64, i uint64) int {
	k, found := slices.BinarySearch(runs, i)
	if !found {
		k--
	}
	return k
}

// dropCovered plans dropping the records that hold only entries at or
// below index, the new snapshot's index, from a log whose last index is last.
func dropCovered(p *plan, index, last uint64) {
	if index >= last {
		if len(p.runs) > 0 {
			p.ops = append(p.ops, op{kind: opClear})
		}
		p.runs = nil
		return
	}
	if k := runOf(p.runs, index+1); k > 0 {
		p.ops = append(p.ops, op{kind: opDeleteBelow, index: p.runs[k]})
		p.runs = p.runs[k:]
	}
}

// planSave validates rd against the stored log and plans its write. It
// follows raft.MemoryStorage.Save, which then applies rd to the copy in
// memory.
func (s *Store) planSave(rd *raft.Ready) (*plan, error) {
	v := s.view()
	p := &plan{runs: slices.Clone(s.runs), strict: rd.MustSync}
	snapIndex, last := v.snapIndex, v.last

	if !rd.Snapshot.IsEmpty() {
		m := rd.Snapshot.Meta
		if m.Index <= snapIndex {
			return nil, fmt.Errorf("snapshot at %d is not newer than %d", m.Index, snapIndex)
		}
		p.ops = append(p.ops, op{kind: opPutSnap, snap: &rd.Snapshot})
		if t, ok := v.term(m.Index); ok && t == m.Term {
			// The log agrees with the snapshot: the entries after it stay.
			dropCovered(p, m.Index, last)
		} else {
			dropCovered(p, m.Index, m.Index)
			last = m.Index
		}
		snapIndex = m.Index
		p.strict = true
	}

	ents := rd.Entries
	for i := 1; i < len(ents); i++ {
		if ents[i].Index != ents[i-1].Index+1 {
			return nil, fmt.Errorf("entry %d follows entry %d", ents[i].Index, ents[i-1].Index)
		}
	}
	if len(ents) > 0 && ents[0].Index <= snapIndex {
		ents = ents[min(snapIndex+1-ents[0].Index, uint64(len(ents))):]
	}
	if len(ents) > 0 {
		first, end := ents[0].Index, ents[len(ents)-1].Index
		if first > last+1 {
			return nil, fmt.Errorf("entry %d leaves a gap after %d", first, last)
		}
		if end > maxIndex {
			return nil, fmt.Errorf("entry %d is beyond the largest index IndexedDB keys hold exactly (%d)", end, uint64(maxIndex))
		}
		var write []raft.Entry
		if first <= last {
			// Overwrite: the record holding first is rewritten with the
			// entries it keeps before first, followed by the new ones.
			k := runOf(p.runs, first)
			if k < 0 {
				return nil, fmt.Errorf("internal error: no record holds entry %d (records from %v)", first, p.runs)
			}
			from := max(p.runs[k], snapIndex+1)
			write = append(slices.Clip(v.slice(from, first-1)), ents...)
			p.ops = append(p.ops, op{kind: opDeleteFrom, index: p.runs[k]})
			p.runs = p.runs[:k]
		} else {
			write = ents
		}
		for _, run := range record.SplitEntries(write, s.maxRun) {
			p.ops = append(p.ops, op{kind: opPutRun, ents: run})
			p.runs = append(p.runs, run[0].Index)
		}
		p.strict = true
	}

	if hs := rd.HardState; !hs.IsEmpty() && hs != v.hard {
		if hs.Term != v.hard.Term || hs.Vote != v.hard.Vote {
			p.strict = true
		}
		p.ops = append(p.ops, op{kind: opPutHard, hard: hs})
	}
	p.lazy = len(p.ops) == 1 && p.ops[0].kind == opPutHard && !p.strict && !s.eager
	if !p.lazy {
		s.fold(p, v.hard)
	}
	return p, nil
}

// planCompact validates a compaction and plans its write.
func (s *Store) planCompact(snap raft.Snapshot) (*plan, error) {
	v := s.view()
	p := &plan{runs: slices.Clone(s.runs), strict: true}
	idx := snap.Meta.Index
	if idx <= v.snapIndex {
		return p, nil
	}
	if idx > v.last {
		return nil, fmt.Errorf("compact at %d beyond the last index %d", idx, v.last)
	}
	if t, _ := v.term(idx); t != snap.Meta.Term {
		return nil, fmt.Errorf("compact at %d with term %d, but the stored entry has term %d", idx, snap.Meta.Term, t)
	}
	p.ops = append(p.ops, op{kind: opPutSnap, snap: &snap})
	dropCovered(p, idx, v.last)
	s.fold(p, v.hard)
	return p, nil
}
