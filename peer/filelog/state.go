package filelog

import (
	"fmt"
	"slices"

	"github.com/tabraft/tabraft/peer/record"
	"github.com/tabraft/tabraft/raft"
)

// logState is the logical content of the log: what replaying the records
// yields, and what the Log serves. The same apply code runs when writing
// and when recovering, so the two cannot disagree.
//
// During replay, the entries (snapIndex, base] are placeholders: the
// header of the first segment read says they exist, but their records
// were in older segments that replay did not read. Placeholders are always
// a prefix of the log (appends and overwrites change a suffix, snapshots
// remove a prefix), so an index is enough to describe them. A Log that is
// open has none (base == snapIndex).
type logState struct {
	snapIndex, snapTerm uint64
	hard                raft.HardState
	base                uint64       // index before ents[0]; >= snapIndex
	ents                []raft.Entry // entries after base, contiguous
	// segs[i] is the sequence number of the segment holding the record of
	// ents[i]. Sequence numbers never decrease along the log (appends and
	// overwrites go to the newest segment).
	segs []uint64
}

func (s *logState) lastIndex() uint64 { return s.base + uint64(len(s.ents)) }

// term returns the term of entry i, if it is the snapshot's or a stored
// entry's (placeholders have no known term).
func (s *logState) term(i uint64) (uint64, bool) {
	switch {
	case i == s.snapIndex:
		return s.snapTerm, true
	case i > s.base && i <= s.lastIndex():
		return s.ents[i-s.base-1].Term, true
	}
	return 0, false
}

// start initializes the state from the header of the first segment
// replayed: the entries the header counts are placeholders.
func (s *logState) start(h segmentHeader) error {
	if h.lastIndex < h.snapIndex {
		return fmt.Errorf("segment header: last index %d is below snapshot index %d", h.lastIndex, h.snapIndex)
	}
	*s = logState{snapIndex: h.snapIndex, snapTerm: h.snapTerm, hard: h.hard, base: h.lastIndex}
	return nil
}

// header returns the segment header describing the current state.
func (s *logState) header(seq uint64) segmentHeader {
	return segmentHeader{seq: seq, snapIndex: s.snapIndex, snapTerm: s.snapTerm, lastIndex: s.lastIndex(), hard: s.hard}
}

// apply applies one operation recorded in segment seq.
func (s *logState) apply(o *op, seq uint64) error {
	switch o.typ {
	case record.TypeSegmentHeader:
		if want := s.header(o.seg.seq); o.seg != want {
			return fmt.Errorf("segment header %+v disagrees with the log before it %+v", o.seg, want)
		}
	case record.TypeEntries:
		for _, e := range o.ents {
			if e.Index <= s.snapIndex {
				continue
			}
			if last := s.lastIndex(); e.Index > last+1 {
				return fmt.Errorf("entry %d leaves a gap after %d", e.Index, last)
			}
			if e.Index <= s.base {
				// Overwrites placeholders, and so every real entry after them.
				s.base, s.ents, s.segs = e.Index-1, s.ents[:0], s.segs[:0]
			}
			keep := e.Index - s.base - 1
			s.ents = append(s.ents[:keep], e)
			s.segs = append(s.segs[:keep], seq)
		}
	case record.TypeHardState:
		s.hard = o.hard
	case record.TypeSnapshotMark:
		m := o.mark
		if m.index <= s.snapIndex {
			return fmt.Errorf("snapshot %d is not newer than %d", m.index, s.snapIndex)
		}
		switch {
		case !m.keep:
			s.base, s.ents, s.segs = m.index, nil, nil
		case m.index > s.lastIndex():
			return fmt.Errorf("snapshot %d keeps the log but is beyond its last index %d", m.index, s.lastIndex())
		case m.index > s.base:
			n := m.index - s.base
			s.base, s.ents, s.segs = m.index, slices.Clone(s.ents[n:]), slices.Clone(s.segs[n:])
		}
		s.snapIndex, s.snapTerm = m.index, m.term
	default:
		return fmt.Errorf("unexpected %v", o.typ)
	}
	return nil
}

// firstNeededSegment is the oldest segment still holding a live entry, or
// active if none does: every older segment can be deleted.
func (s *logState) firstNeededSegment(active uint64) uint64 {
	if len(s.segs) > 0 {
		return min(s.segs[0], active)
	}
	return active
}

// placeholders returns the range of entries still unaccounted for after
// replay (ok false if there is none).
func (s *logState) placeholders() (from, to uint64, ok bool) {
	return s.snapIndex + 1, s.base, s.base > s.snapIndex
}
