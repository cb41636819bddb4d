package sim

import (
	"errors"

	"github.com/tabraft/tabraft/raft"
)

// apply hands a committed entry to member m's state machine and answers
// the client waiting on it there, if any.
func (s *Simulation) apply(m *member, e *raft.Entry) {
	s.check.apply(m.idx, e)
	s.noteApplied(e)
	m.applied = e.Index
	if e.Type != raft.EntryNormal || len(e.Data) == 0 {
		return // a leader's no-op
	}
	cmd, err := DecodeCommand(e.Data)
	if err != nil {
		s.check.fail(StateMachineSafety, "n%d applies undecodable data at index %d: %v", m.id, e.Index, err)
		return
	}
	result, ok, fresh := m.kv.apply(cmd)
	if fresh {
		s.hist.executed(cmd.Client, cmd.Seq, s.now)
		s.ledger.executed(e.Index, cmd)
	}
	if ok {
		s.applied(cmd, result, m.idx, cmd.Seq)
	}
}

// restoreState loads member m's state machine from a snapshot.
func (s *Simulation) restoreState(m *member, snap *raft.Snapshot) {
	kv, err := decodeKV(snap.Data)
	if err != nil {
		s.check.fail(StateMachineSafety, "n%d cannot decode the snapshot at %d: %v", m.id, snap.Meta.Index, err)
		return
	}
	m.kv, m.applied = kv, snap.Meta.Index
	s.check.restoredTo(m.idx, snap.Meta.Index)
}

// compact snapshots member m's state machine and compacts its storage.
func (s *Simulation) compact(m *member) {
	snap, err := m.node.Compact(m.kv.encode())
	if err != nil {
		if !errors.Is(err, raft.ErrCompactNotApplied) {
			s.check.fail(CoreError, "n%d: Compact: %v", m.id, err)
		}
		return
	}
	if err := m.store.Compact(snap); err != nil {
		s.check.fail(CoreError, "n%d: storage compact at %d: %v", m.id, snap.Meta.Index, err)
		return
	}
	s.check.snapshotTaken(m.idx, &snap)
	s.stats.Snapshots++
}
