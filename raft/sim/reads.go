package sim

import (
	"encoding/binary"

	"github.com/tabraft/tabraft/raft"
)

// pendingRead is a ReadState waiting for the state machine to catch up.
type pendingRead struct {
	index  uint64
	client int
	seq    uint64
}

// serveReads answers the reads whose index the state machine has reached.
func (s *Simulation) serveReads(m *member) {
	n := 0
	for _, r := range m.reads {
		if r.index > m.applied && !s.bugs.readBeforeApply {
			m.reads[n] = r
			n++
			continue
		}
		if r.client >= 0 && r.client < len(s.clients) {
			c := s.clients[r.client]
			if c.cmd.Op == OpRead {
				s.applied(c.cmd, m.kv.data[c.cmd.Key], m.idx, r.seq)
			}
		}
	}
	m.reads = m.reads[:n]
}

// takeReads queues a Ready's read states (served by serveReads once the
// state machine caught up).
func (s *Simulation) takeReads(m *member, states []raft.ReadState) {
	for _, rs := range states {
		client, seq, ok := parseReadContext(rs.Context)
		if !ok {
			s.check.fail(CoreError, "n%d: a ReadState with a context it was never given: %x", m.id, rs.Context)
			continue
		}
		m.reads = append(m.reads, pendingRead{index: rs.Index, client: client, seq: seq})
	}
	if s.bugs.readBeforeApply {
		s.serveReads(m)
	}
}

// readContext identifies a read request (client, sequence number and
// attempt) in the core's ReadIndex context.
func readContext(client int, seq, token uint64) []byte {
	b := binary.AppendUvarint(nil, uint64(client))
	b = binary.AppendUvarint(b, seq)
	return binary.AppendUvarint(b, token)
}

// parseReadContext undoes readContext.
func parseReadContext(b []byte) (client int, seq uint64, ok bool) {
	c, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, false
	}
	seq, m := binary.Uvarint(b[n:])
	return int(c), seq, m > 0
}
