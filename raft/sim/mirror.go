package sim

import "github.com/tabraft/tabraft/raft"

// FNV-1a, 64 bits, folded over whole words: cheap and deterministic.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func mix(h, v uint64) uint64 {
	for range 8 {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

func mixBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// entryHash identifies an entry's content and position.
func entryHash(e *raft.Entry) uint64 {
	h := mix(fnvOffset, e.Index)
	h = mix(h, e.Term)
	h = mix(h, uint64(e.Type))
	return mixBytes(h, e.Data)
}

// logMirror follows one member's log as the host sees it, keeping for each
// index the entry's term and a chain hash of the whole log up to it: two
// logs with equal chain hashes at an index are identical up to it, which
// makes log matching and "contains this committed prefix" O(1) checks.
// Entries up to base are compacted into a snapshot; the chain hash at base
// is known (it is the committed log's), those below it are not.
type logMirror struct {
	base, baseTerm, baseChain uint64
	terms                     []uint64 // terms[i] is the term of index base+1+i
	chains                    []uint64 // chains[i] hashes entries 1..base+1+i
}

func (l *logMirror) last() uint64 { return l.base + uint64(len(l.terms)) }

// covers reports whether index i is inside the snapshot (i <= base).
func (l *logMirror) covers(i uint64) bool { return i <= l.base && l.base > 0 }

// term returns the term at index i (0 when unknown or beyond the end).
func (l *logMirror) term(i uint64) uint64 {
	switch {
	case i == l.base:
		return l.baseTerm
	case i < l.base || i > l.last():
		return 0
	}
	return l.terms[i-l.base-1]
}

// chain returns the chain hash at i: fnvOffset for the empty prefix, 0
// when unknown (inside the snapshot) or beyond the end.
func (l *logMirror) chain(i uint64) uint64 {
	switch {
	case i == 0:
		return fnvOffset
	case i == l.base:
		return l.baseChain
	case i < l.base || i > l.last():
		return 0
	}
	return l.chains[i-l.base-1]
}

// write stores ents as MemoryStorage.Append does: everything from
// ents[0].Index on is replaced (entries inside the snapshot are skipped).
// visit, if not nil, sees each new entry's index, term and chain hash. It
// reports false if ents would leave a gap.
func (l *logMirror) write(ents []raft.Entry, visit func(index, term, chain uint64)) bool {
	for len(ents) > 0 && ents[0].Index <= l.base {
		ents = ents[1:]
	}
	if len(ents) == 0 {
		return true
	}
	first := ents[0].Index
	if first > l.last()+1 {
		return false
	}
	keep := first - l.base - 1
	l.terms, l.chains = l.terms[:keep], l.chains[:keep]
	h := l.chain(first - 1)
	for i := range ents {
		e := &ents[i]
		h = mix(h, entryHash(e))
		l.terms = append(l.terms, e.Term)
		l.chains = append(l.chains, h)
		if visit != nil {
			visit(e.Index, e.Term, h)
		}
	}
	return true
}

// compact drops the entries up to index, as MemoryStorage.Compact does.
func (l *logMirror) compact(index uint64) {
	if index <= l.base || index > l.last() {
		return
	}
	term, chain := l.term(index), l.chain(index)
	k := index - l.base
	l.terms = append([]uint64(nil), l.terms[k:]...)
	l.chains = append([]uint64(nil), l.chains[k:]...)
	l.base, l.baseTerm, l.baseChain = index, term, chain
}

// install replaces the log by a snapshot at (index, term) whose log has
// chain hash chain, keeping what follows if the log holds that entry (as
// MemoryStorage.ApplySnapshot does).
func (l *logMirror) install(index, term, chain uint64) {
	if index > l.base && index <= l.last() && l.term(index) == term && l.chain(index) == chain {
		l.compact(index)
		return
	}
	l.base, l.baseTerm, l.baseChain = index, term, chain
	l.terms, l.chains = l.terms[:0], l.chains[:0]
}

// copyFrom makes l a copy of o.
func (l *logMirror) copyFrom(o *logMirror) {
	l.base, l.baseTerm, l.baseChain = o.base, o.baseTerm, o.baseChain
	l.terms = append(l.terms[:0], o.terms...)
	l.chains = append(l.chains[:0], o.chains...)
}
