// Package quorum decides what a set of voters agrees on: which log index a
// majority has stored and whether an election is won. Joint configurations
// (the two majorities of a membership change) need both halves to agree.
package quorum

import (
	"slices"
	"strconv"
	"strings"
)

// ID names a voter (the same numbers as raft.NodeID).
type ID = uint64

// VoteResult is the outcome of counting votes.
type VoteResult uint8

const (
	// VotePending means the outcome is not decided yet.
	VotePending VoteResult = iota
	// VoteLost means a majority can no longer be reached.
	VoteLost
	// VoteWon means a majority granted.
	VoteWon
)

func (r VoteResult) String() string {
	switch r {
	case VotePending:
		return "pending"
	case VoteLost:
		return "lost"
	case VoteWon:
		return "won"
	}
	return "VoteResult(" + strconv.Itoa(int(r)) + ")"
}

// AckedIndexer returns the highest log index a voter is known to store.
type AckedIndexer interface {
	AckedIndex(id ID) (idx uint64, ok bool)
}

// MajorityConfig is a set of voters deciding by simple majority.
type MajorityConfig map[ID]struct{}

// NewMajority returns a MajorityConfig of the given voters.
func NewMajority(ids ...ID) MajorityConfig {
	c := make(MajorityConfig, len(ids))
	for _, id := range ids {
		c[id] = struct{}{}
	}
	return c
}

// Slice returns the voters in increasing order.
func (c MajorityConfig) Slice() []ID {
	ids := make([]ID, 0, len(c))
	for id := range c {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (c MajorityConfig) String() string {
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range c.Slice() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(id, 10))
	}
	b.WriteByte(')')
	return b.String()
}

// CommittedIndex returns the largest index stored by a majority. An empty
// configuration commits everything (it places no constraint), so that a
// joint configuration with an empty outgoing half behaves as its incoming one.
func (c MajorityConfig) CommittedIndex(l AckedIndexer) uint64 {
	n := len(c)
	if n == 0 {
		return ^uint64(0)
	}
	// Clusters are small: sort on the stack.
	var stack [9]uint64
	var idxs []uint64
	if n <= len(stack) {
		idxs = stack[:0]
	} else {
		idxs = make([]uint64, 0, n)
	}
	for id := range c {
		idx, _ := l.AckedIndex(id)
		idxs = append(idxs, idx)
	}
	slices.Sort(idxs)
	// With idxs ascending, the element at n - (n/2+1) is stored by at least
	// n/2+1 voters.
	return idxs[n-(n/2+1)]
}

// VoteResult counts votes (true = granted; absent = not yet answered).
// An empty configuration wins, for the same reason as in CommittedIndex.
func (c MajorityConfig) VoteResult(votes map[ID]bool) VoteResult {
	if len(c) == 0 {
		return VoteWon
	}
	granted, missing := 0, 0
	for id := range c {
		v, ok := votes[id]
		switch {
		case !ok:
			missing++
		case v:
			granted++
		}
	}
	q := len(c)/2 + 1
	if granted >= q {
		return VoteWon
	}
	if granted+missing >= q {
		return VotePending
	}
	return VoteLost
}

// JointConfig is the configuration during a membership change: decisions
// need a majority of the incoming ([0]) and of the outgoing ([1]) voters.
// Outside a change the outgoing half is empty.
type JointConfig [2]MajorityConfig

// IDs returns the union of both halves, in increasing order.
func (c JointConfig) IDs() []ID {
	seen := make(map[ID]struct{}, len(c[0])+len(c[1]))
	for _, half := range c {
		for id := range half {
			seen[id] = struct{}{}
		}
	}
	return MajorityConfig(seen).Slice()
}

// Contains reports whether id votes in either half.
func (c JointConfig) Contains(id ID) bool {
	_, in := c[0][id]
	_, out := c[1][id]
	return in || out
}

// IsJoint reports whether c is a joint configuration.
func (c JointConfig) IsJoint() bool { return len(c[1]) > 0 }

func (c JointConfig) String() string {
	if c.IsJoint() {
		return c[0].String() + "&&" + c[1].String()
	}
	return c[0].String()
}

// CommittedIndex returns the largest index both halves have committed.
func (c JointConfig) CommittedIndex(l AckedIndexer) uint64 {
	return min(c[0].CommittedIndex(l), c[1].CommittedIndex(l))
}

// VoteResult is won when both halves win and lost when either loses.
func (c JointConfig) VoteResult(votes map[ID]bool) VoteResult {
	r0, r1 := c[0].VoteResult(votes), c[1].VoteResult(votes)
	switch {
	case r0 == r1:
		return r0
	case r0 == VoteLost || r1 == VoteLost:
		return VoteLost
	}
	return VotePending
}
