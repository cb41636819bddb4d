package sim

import (
	"github.com/tabraft/tabraft/raft"
)

// memberState is the role and term the simulator last saw a member in.
type memberState struct {
	role raft.Role
	term uint64
	lead raft.NodeID
}

// observeReady runs the per-step checks on a Ready and keeps the
// narration's view of roles up to date.
func (s *Simulation) observeReady(m *member, rd *raft.Ready) {
	var st *raft.Status
	if rd.SoftState != nil || (!rd.HardState.IsEmpty() && rd.HardState.Term != s.view[m.idx].term) {
		status := m.node.Status()
		st = &status
	}
	if s.check.ready(m.idx, rd, st) {
		s.stats.Elections++
		s.nar.leader(s.now, m.id, st.Term, s.votesFor(m.id, st.Term))
	}
	if st != nil {
		prev := s.view[m.idx]
		s.view[m.idx] = memberState{role: st.Role, term: st.Term, lead: st.Lead}
		if prev.role == raft.Leader && (st.Role != raft.Leader || st.Term != prev.term) {
			s.nar.stepDown(s.now, m.id, prev.term, st.Term)
		}
	}
	if c := rd.HardState.Commit; c > s.maxCommit {
		s.maxCommit = c
	}
}
