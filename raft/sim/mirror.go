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
type logMirror struct {
	terms  []uint64 // terms[i-1] is the term of index i
	chains []uint64 // chains[i-1] hashes entries 1..i
}

func (l *logMirror) last() uint64 { return uint64(len(l.terms)) }

// term returns the term at index i (0 when i is 0 or beyond the end).
func (l *logMirror) term(i uint64) uint64 {
	if i == 0 || i > l.last() {
		return 0
	}
	return l.terms[i-1]
}

// chain returns the chain hash at i (fnvOffset for the empty prefix, 0
// beyond the end).
func (l *logMirror) chain(i uint64) uint64 {
	switch {
	case i == 0:
		return fnvOffset
	case i > l.last():
		return 0
	}
	return l.chains[i-1]
}

// write stores ents as MemoryStorage.Append does: everything from
// ents[0].Index on is replaced. visit, if not nil, sees each new entry's
// index, term and chain hash. It reports false if ents would leave a gap.
func (l *logMirror) write(ents []raft.Entry, visit func(index, term, chain uint64)) bool {
	if len(ents) == 0 {
		return true
	}
	first := ents[0].Index
	if first == 0 || first > l.last()+1 {
		return false
	}
	l.terms, l.chains = l.terms[:first-1], l.chains[:first-1]
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

// copyFrom makes l a copy of o.
func (l *logMirror) copyFrom(o *logMirror) {
	l.terms = append(l.terms[:0], o.terms...)
	l.chains = append(l.chains[:0], o.chains...)
}
