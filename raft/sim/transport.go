package sim

import (
	"github.com/tabraft/tabraft/raft"
)

// sendAll sends a Ready's messages, checking each against what is persisted.
func (s *Simulation) sendAll(m *member, rd *raft.Ready) {
	hs, _, _ := m.store.InitialState()
	for i := range rd.Messages {
		msg := &rd.Messages[i]
		s.check.sent(m.idx, msg, hs)
		s.send(m, msg)
		s.strikeAfter(m, msg)
	}
}

// send puts a message on the network.
func (s *Simulation) send(m *member, msg *raft.Message) {
	to := int(msg.To) - 1
	s.stats.Messages++
	s.trace.message(s.now, msg)
	if to < 0 || to >= len(s.members) {
		s.check.fail(CoreError, "n%d sends %v to a member that does not exist", m.id, msg)
		return
	}
	if !s.net.up(m.idx, to) || !s.members[to].up {
		// The transport notices a dead link (its data channel closes) and
		// tells the core, once per Ready and peer.
		s.stats.Dropped++
		if len(m.unreachable) == 0 || m.unreachable[len(m.unreachable)-1] != msg.To {
			m.unreachable = append(m.unreachable, msg.To)
		}
		return
	}
	delays := s.net.fate(s.rng, s.delayBuf[:0])
	switch len(delays) {
	case 0:
		s.stats.Dropped++
		return
	case 2:
		s.stats.Duplicated++
	}
	for _, d := range delays {
		// Each copy is decoded on its own: a receiver that changes the
		// message it got (the core stamps proposals in place) must not
		// change the duplicate.
		s.schedule(event{at: s.now + d, kind: evDeliver, who: to, msg: wireCopy(*msg)})
	}
}
