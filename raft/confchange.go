package raft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// ConfChangeType is one kind of membership change.
type ConfChangeType uint8

const (
	// AddVoter adds a voter, or promotes a learner.
	AddVoter ConfChangeType = iota + 1
	// AddLearner adds a non-voting member, or demotes a voter.
	AddLearner
	// RemoveMember removes a voter or learner.
	RemoveMember
)

func (t ConfChangeType) String() string {
	switch t {
	case AddVoter:
		return "add-voter"
	case AddLearner:
		return "add-learner"
	case RemoveMember:
		return "remove"
	}
	return fmt.Sprintf("ConfChangeType(%d)", uint8(t))
}

// ConfChangeSingle changes one member.
type ConfChangeSingle struct {
	Type ConfChangeType
	Node NodeID
}

// ConfChange is a membership change, carried by an EntryConfChange entry.
// A change that alters at most one voter takes effect in one step; any
// other goes through a joint configuration (old and new voters must both
// agree) that the leader leaves automatically once it is applied.
// LeaveJoint with no Changes is that second step.
type ConfChange struct {
	Changes    []ConfChangeSingle
	LeaveJoint bool
}

const confChangeVersion = 1

// Marshal encodes cc for an entry's data.
func (cc ConfChange) Marshal() []byte {
	b := []byte{confChangeVersion, 0}
	if cc.LeaveJoint {
		b[1] = 1
	}
	b = binary.AppendUvarint(b, uint64(len(cc.Changes)))
	for _, c := range cc.Changes {
		b = append(b, byte(c.Type))
		b = binary.AppendUvarint(b, uint64(c.Node))
	}
	return b
}

// errBadConfChange wraps every decoding failure.
var errBadConfChange = errors.New("raft: malformed configuration change")

// UnmarshalConfChange decodes what Marshal encoded.
func UnmarshalConfChange(b []byte) (ConfChange, error) {
	var cc ConfChange
	if len(b) < 2 || b[0] != confChangeVersion || b[1] > 1 {
		return cc, fmt.Errorf("%w: bad header", errBadConfChange)
	}
	cc.LeaveJoint = b[1] == 1
	b = b[2:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return cc, fmt.Errorf("%w: bad count", errBadConfChange)
	}
	b = b[k:]
	for range n {
		if len(b) < 2 {
			return cc, fmt.Errorf("%w: truncated", errBadConfChange)
		}
		t := ConfChangeType(b[0])
		id, k := binary.Uvarint(b[1:])
		if k <= 0 || t < AddVoter || t > RemoveMember || id == 0 {
			return cc, fmt.Errorf("%w: bad change", errBadConfChange)
		}
		cc.Changes = append(cc.Changes, ConfChangeSingle{Type: t, Node: NodeID(id)})
		b = b[1+k:]
	}
	if len(b) != 0 {
		return cc, fmt.Errorf("%w: %d trailing bytes", errBadConfChange, len(b))
	}
	if cc.LeaveJoint && len(cc.Changes) > 0 {
		return cc, fmt.Errorf("%w: leave-joint with changes", errBadConfChange)
	}
	return cc, nil
}

// ErrConfChangePending is returned for a membership change proposed while
// an earlier one is not yet applied, or before the leader has committed an
// entry of its own term (the guard against the single-server change bug).
var ErrConfChangePending = errors.New("raft: a configuration change is already pending")

// ErrInvalidConfChange is returned for a change that cannot be applied to
// the current configuration (it would leave no voters, say).
var ErrInvalidConfChange = errors.New("raft: invalid configuration change")

// nextConfState computes the configuration that cc makes of cs.
func nextConfState(cs ConfState, cc ConfChange) (ConfState, error) {
	joint := len(cs.VotersOutgoing) > 0
	if cc.LeaveJoint {
		if !joint {
			return cs, fmt.Errorf("%w: not in a joint configuration", ErrInvalidConfChange)
		}
		out := ConfState{Voters: slices.Clone(cs.Voters), Learners: slices.Clone(cs.Learners)}
		// Voters demoted during the joint phase become learners now.
		out.Learners = append(out.Learners, cs.LearnersNext...)
		out.normalize()
		return out, nil
	}
	if joint {
		return cs, fmt.Errorf("%w: leave the joint configuration first", ErrInvalidConfChange)
	}
	if len(cc.Changes) == 0 {
		return cs, fmt.Errorf("%w: no changes", ErrInvalidConfChange)
	}
	voters := setOf(cs.Voters)
	learners := setOf(cs.Learners)
	for _, c := range cc.Changes {
		switch c.Type {
		case AddVoter:
			delete(learners, c.Node)
			voters[c.Node] = true
		case AddLearner:
			delete(voters, c.Node)
			learners[c.Node] = true
		case RemoveMember:
			delete(voters, c.Node)
			delete(learners, c.Node)
		}
	}
	if len(voters) == 0 {
		return cs, fmt.Errorf("%w: no voters would remain", ErrInvalidConfChange)
	}
	next := ConfState{Voters: keysOf(voters), Learners: keysOf(learners)}
	if len(cs.Voters) == 0 || symmetricDiff(cs.Voters, next.Voters) <= 1 {
		// At most one voter changes: safe in one step. So is the very
		// first configuration (bootstrap): there is nobody to disagree.
		return next, nil
	}
	// Joint: decisions need majorities of both the old and the new voters.
	// A voter being demoted keeps voting in the outgoing half until the
	// joint phase ends, and only then becomes a learner.
	next.VotersOutgoing = slices.Clone(cs.Voters)
	var stay []NodeID
	for _, id := range next.Learners {
		if slices.Contains(cs.Voters, id) {
			next.LearnersNext = append(next.LearnersNext, id)
		} else {
			stay = append(stay, id)
		}
	}
	next.Learners = stay
	next.normalize()
	return next, nil
}

func (cs *ConfState) normalize() {
	for _, s := range []*[]NodeID{&cs.Voters, &cs.Learners, &cs.VotersOutgoing, &cs.LearnersNext} {
		slices.Sort(*s)
		*s = slices.Compact(*s)
		if len(*s) == 0 {
			*s = nil
		}
	}
}

func setOf(ids []NodeID) map[NodeID]bool {
	m := make(map[NodeID]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func keysOf(m map[NodeID]bool) []NodeID {
	ids := make([]NodeID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func symmetricDiff(a, b []NodeID) int {
	in := setOf(a)
	n := 0
	for _, id := range b {
		if !in[id] {
			n++
		}
		delete(in, id)
	}
	return n + len(in)
}
