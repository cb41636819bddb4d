package wasm

import (
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
)

// observed wraps the member's storage: it outlives the node's runs (stop
// and restart reuse it) and watches every Ready the node persists, which is
// where the role, term and membership events come from and how the machine
// learns the index and term of what it applies.
type observed struct {
	peer.Storage
	m   *machine
	bus *bus

	mu    sync.Mutex
	term  uint64
	first uint64 // first index of the log: after the latest snapshot
}

func newObserved(s peer.Storage, m *machine, b *bus) (*observed, error) {
	hs, _, err := s.InitialState()
	if err != nil {
		return nil, fmt.Errorf("reading the stored state: %w", err)
	}
	snap, err := s.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("reading the stored snapshot: %w", err)
	}
	return &observed{Storage: s, m: m, bus: b, term: hs.Term, first: snap.Meta.Index + 1}, nil
}

// empty reports whether the storage holds nothing: a member that never ran.
func (o *observed) empty() (bool, error) {
	hs, cs, err := o.InitialState()
	if err != nil {
		return false, err
	}
	snap, err := o.Snapshot()
	if err != nil {
		return false, err
	}
	ents, err := o.Entries()
	if err != nil {
		return false, err
	}
	return hs.IsEmpty() && len(cs.Voters) == 0 && len(cs.Learners) == 0 && snap.IsEmpty() && len(ents) == 0, nil
}

// Save implements peer.Storage.
func (o *observed) Save(rd *raft.Ready) error {
	if err := o.Storage.Save(rd); err != nil {
		return err
	}
	o.mu.Lock()
	termChanged := !rd.HardState.IsEmpty() && rd.HardState.Term != o.term
	if termChanged {
		o.term = rd.HardState.Term
	}
	term := o.term
	if !rd.Snapshot.IsEmpty() {
		o.first = rd.Snapshot.Meta.Index + 1
	}
	o.mu.Unlock()

	if termChanged {
		o.bus.emit(EventTerm, func() any { return termEvent{Term: term} })
	}
	if ss := rd.SoftState; ss != nil {
		o.bus.emit(EventRole, func() any { return roleEvent{Role: roleName(ss.Role), Term: term, Leader: idString(ss.Lead)} })
	}
	if cs := rd.ConfState; cs != nil {
		o.bus.emit(EventMembership, func() any { return membershipOf(*cs) })
	}
	if !rd.Snapshot.IsEmpty() {
		o.m.snapIndex = rd.Snapshot.Meta.Index
	}
	if len(rd.CommittedEntries) > 0 {
		o.m.committed(rd.CommittedEntries)
	}
	return nil
}

// Compact implements peer.Storage.
func (o *observed) Compact(snap raft.Snapshot) error {
	if err := o.Storage.Compact(snap); err != nil {
		return err
	}
	o.mu.Lock()
	o.first = max(o.first, snap.Meta.Index+1)
	o.mu.Unlock()
	return nil
}

// firstIndex returns the first index of the stored log.
func (o *observed) firstIndex() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.first
}

// currentTerm returns the last term persisted.
func (o *observed) currentTerm() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.term
}

// close closes the storage if it can be.
func (o *observed) close() error {
	if c, ok := o.Storage.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// roleName is a role as tabraft.d.ts spells it.
func roleName(r raft.Role) string {
	switch r {
	case raft.Leader:
		return "leader"
	case raft.Candidate:
		return "candidate"
	case raft.PreCandidate:
		return "precandidate"
	}
	return "follower"
}

// idString is a member id as JavaScript sees it ("" for none).
func idString(id raft.NodeID) string {
	if id == raft.None {
		return ""
	}
	return peer.FormatID(id)
}

func idStrings(ids []raft.NodeID) []string {
	s := make([]string, 0, len(ids))
	for _, id := range ids {
		s = append(s, peer.FormatID(id))
	}
	return s
}

// membershipOf lists the voters (both sides of a joint configuration) and
// learners.
func membershipOf(cs raft.ConfState) membershipEvent {
	voters := slices.Clone(cs.Voters)
	for _, id := range cs.VotersOutgoing {
		if !slices.Contains(voters, id) {
			voters = append(voters, id)
		}
	}
	slices.Sort(voters)
	learners := slices.Clone(cs.Learners)
	slices.Sort(learners)
	return membershipEvent{Voters: idStrings(voters), Learners: idStrings(learners)}
}
