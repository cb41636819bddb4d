package raft

import (
	"fmt"
	"sort"
)

// raftLog is the core's in-memory copy of the log: the entries after the
// last snapshot, and how far they are persisted, committed and applied.
type raftLog struct {
	// snapIndex/snapTerm identify the last entry the snapshot replaced.
	snapIndex, snapTerm uint64
	// entries[i].Index == snapIndex+1+i.
	entries []Entry
	// stable is the last index the host reported durable.
	stable uint64
	// committed is the last index known committed.
	committed uint64
	// applied is the last index the host applied (acknowledged by Advance);
	// applying is the last index handed out for application.
	applied, applying uint64
}

func (l *raftLog) firstIndex() uint64 { return l.snapIndex + 1 }

func (l *raftLog) lastIndex() uint64 { return l.snapIndex + uint64(len(l.entries)) }

func (l *raftLog) lastTerm() uint64 {
	t, _ := l.term(l.lastIndex())
	return t
}

// term returns the term of the entry at i; ok is false when i is compacted
// away or beyond the log.
func (l *raftLog) term(i uint64) (t uint64, ok bool) {
	switch {
	case i == l.snapIndex:
		return l.snapTerm, true
	case i < l.snapIndex || i > l.lastIndex():
		return 0, false
	}
	return l.entries[i-l.snapIndex-1].Term, true
}

func (l *raftLog) matchTerm(i, t uint64) bool {
	lt, ok := l.term(i)
	return ok && lt == t
}

// entry returns a pointer to the entry at i, which must be in the log.
func (l *raftLog) entry(i uint64) *Entry { return &l.entries[i-l.snapIndex-1] }

// slice returns entries [lo, hi) holding at most maxBytes (but at least one).
// lo must be above the snapshot.
func (l *raftLog) slice(lo, hi, maxBytes uint64) []Entry {
	if lo >= hi {
		return nil
	}
	ents := l.entries[lo-l.snapIndex-1 : hi-l.snapIndex-1]
	var size uint64
	for i := range ents {
		size += ents[i].size()
		if i > 0 && size > maxBytes {
			return ents[:i:i]
		}
	}
	return ents[:len(ents):len(ents)]
}

// isUpToDate reports whether a log ending at (lastIdx, lastTerm) is at least
// as up to date as ours (§5.4.1): later last term, or same term and no shorter.
func (l *raftLog) isUpToDate(lastIdx, lastTerm uint64) bool {
	ourTerm := l.lastTerm()
	return lastTerm > ourTerm || (lastTerm == ourTerm && lastIdx >= l.lastIndex())
}

// append adds entries at the end, dropping any entry at or after ents[0].Index.
func (l *raftLog) append(ents ...Entry) {
	if len(ents) == 0 {
		return
	}
	first := ents[0].Index
	keep := first - l.snapIndex - 1
	if keep < uint64(len(l.entries)) {
		// Truncating: queued messages and handed-out Readys may alias the
		// entries being replaced, so never overwrite them in place.
		l.entries = append(l.entries[:keep:keep], ents...)
	} else {
		l.entries = append(l.entries, ents...)
	}
	if l.stable >= first {
		l.stable = first - 1
	}
}

// findConflict returns the index of the first entry of ents that the log
// does not hold (a different term, or beyond the end); 0 if it holds all.
func (l *raftLog) findConflict(ents []Entry) uint64 {
	for i := range ents {
		if !l.matchTerm(ents[i].Index, ents[i].Term) {
			return ents[i].Index
		}
	}
	return 0
}

// maybeAppend handles the receiving side of AppendEntries: if the log holds
// (prevIndex, prevTerm) it stores ents, overwriting conflicting entries, and
// returns the index of the last entry now known to match the leader.
func (l *raftLog) maybeAppend(prevIndex, prevTerm, committed uint64, ents []Entry) (lastNew uint64, ok bool, err error) {
	if !l.matchTerm(prevIndex, prevTerm) {
		return 0, false, nil
	}
	lastNew = prevIndex + uint64(len(ents))
	if c := l.findConflict(ents); c != 0 {
		if c <= l.committed {
			return 0, false, fmt.Errorf("%w: entry %d conflicts with committed log (commit %d)",
				ErrInvalidMessage, c, l.committed)
		}
		l.append(ents[c-prevIndex-1:]...)
	}
	l.commitTo(min(committed, lastNew))
	return lastNew, true, nil
}

// conflictHint describes where a follower's log diverges at index i (a
// rejected MsgApp): the term it holds there and the first index of that
// term, or (lastIndex+1, 0) when its log is shorter. Terms never decrease
// along a log, so both searches are binary.
func (l *raftLog) conflictHint(i uint64) (hintIndex, hintTerm uint64) {
	if i > l.lastIndex() {
		return l.lastIndex() + 1, 0
	}
	t, ok := l.term(i)
	if !ok {
		// Compacted: everything up to the snapshot matches any leader.
		return l.snapIndex + 1, 0
	}
	// Entries up to the commit index agree with every legitimate leader.
	lo := max(l.committed, l.snapIndex) + 1
	if lo > i {
		return i, t
	}
	n := sort.Search(int(i-lo+1), func(k int) bool { return l.entry(lo+uint64(k)).Term >= t })
	return lo + uint64(n), t
}

// lastIndexOfTerm returns the largest index ≤ upTo whose term is t; 0 if the
// log (after the snapshot) holds none.
func (l *raftLog) lastIndexOfTerm(t, upTo uint64) uint64 {
	upTo = min(upTo, l.lastIndex())
	lo := l.snapIndex + 1
	if upTo < lo {
		return 0
	}
	// n = number of entries in [lo, upTo] with term ≤ t.
	n := sort.Search(int(upTo-lo+1), func(k int) bool { return l.entry(lo+uint64(k)).Term > t })
	if n == 0 {
		return 0
	}
	idx := lo + uint64(n) - 1
	if l.entry(idx).Term != t {
		return 0
	}
	return idx
}

func (l *raftLog) commitTo(c uint64) {
	if c > l.committed {
		l.committed = min(c, l.lastIndex())
	}
}

// unstable returns the entries not yet reported durable.
func (l *raftLog) unstable() []Entry {
	if l.stable >= l.lastIndex() {
		return nil
	}
	return l.entries[l.stable-l.snapIndex:]
}

// stableTo records that entries up to i (with term t) are durable; a stale
// report about entries since overwritten is ignored.
func (l *raftLog) stableTo(i, t uint64) {
	if i > l.stable && l.matchTerm(i, t) {
		l.stable = i
	}
}

// nextCommitted returns committed entries not yet handed out, at most
// maxBytes of them (at least one).
func (l *raftLog) nextCommitted(maxBytes uint64) []Entry {
	lo := max(l.applying, l.snapIndex) + 1
	if lo > l.committed {
		return nil
	}
	return l.slice(lo, l.committed+1, maxBytes)
}

func (l *raftLog) hasNextCommitted() bool {
	return max(l.applying, l.snapIndex) < l.committed
}

func (l *raftLog) String() string {
	return fmt.Sprintf("snap=%d/%d last=%d stable=%d committed=%d applied=%d",
		l.snapIndex, l.snapTerm, l.lastIndex(), l.stable, l.committed, l.applied)
}
