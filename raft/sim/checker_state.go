package sim

import (
	"github.com/tabraft/tabraft/raft"
)

// apply checks an entry member m applies.
func (c *checker) apply(m int, e *raft.Entry) {
	v := &c.members[m]
	i := e.Index
	if i != v.applied+1 {
		c.fail(StateMachineSafety, "n%d applies index %d after %d", m+1, i, v.applied)
	}
	v.applied = i
	h := entryHash(e)
	switch {
	case i <= uint64(len(c.applied)):
		if c.applied[i-1] != h {
			c.fail(StateMachineSafety, "n%d applies a different entry at index %d (term %d) than another member did", m+1, i, e.Term)
		}
	case i == uint64(len(c.applied))+1:
		c.applied = append(c.applied, h)
	}
	if i > uint64(len(c.committed)) || i > v.commit {
		c.fail(StateMachineSafety, "n%d applies index %d, which it never reported committed (commit %d)", m+1, i, v.commit)
		return
	}
	var prev uint64 = fnvOffset
	if i > 1 {
		prev = c.committed[i-2].chain
	}
	if mix(prev, h) != c.committed[i-1].chain {
		c.fail(StateMachineSafety, "n%d applies at index %d an entry (term %d) that is not the committed one (term %d)",
			m+1, i, e.Term, c.committed[i-1].term)
	}
}

// snapshotOK checks a snapshot member m holds: it must cover a committed
// prefix, and its image must equal every other image taken at its index.
// It returns the chain hash of the log the snapshot replaces.
func (c *checker) snapshotOK(m int, snap *raft.Snapshot) (chain uint64, ok bool) {
	i := snap.Meta.Index
	if i == 0 || i > uint64(len(c.committed)) || c.committed[i-1].term != snap.Meta.Term {
		c.fail(CommitAgreement, "n%d holds a snapshot at %d (term %d) that is not of the committed log (commit %d)",
			m+1, i, snap.Meta.Term, len(c.committed))
		return 0, false
	}
	h := mixBytes(fnvOffset, snap.Data)
	if prev, seen := c.snapshots[i]; seen && prev != h {
		c.fail(StateMachineSafety, "n%d's state machine image at index %d differs from another member's", m+1, i)
		return 0, false
	}
	c.snapshots[i] = h
	c.members[m].snapped = max(c.members[m].snapped, i)
	return c.committed[i-1].chain, true
}

// snapshotTaken records member m compacting its storage with snap.
func (c *checker) snapshotTaken(m int, snap *raft.Snapshot) {
	v := &c.members[m]
	i := snap.Meta.Index
	if _, ok := c.snapshotOK(m, snap); !ok {
		return
	}
	if !v.disk.covers(i) && v.disk.chain(i) != c.committed[i-1].chain {
		c.fail(StateMachineSafety, "n%d snapshots at %d a log that is not the committed one", m+1, i)
		return
	}
	v.disk.compact(i)
}

// snapshotPersisted records member m's storage installing snap.
func (c *checker) snapshotPersisted(m int, snap *raft.Snapshot) {
	if chain, ok := c.snapshotOK(m, snap); ok {
		c.members[m].disk.install(snap.Meta.Index, snap.Meta.Term, chain)
	}
	c.durable()
}

// restoredTo records member m's state machine loaded from a snapshot at
// index: it applies from index+1 on.
func (c *checker) restoredTo(m int, index uint64) {
	c.members[m].applied = index
}

// crashed resets member m's view to what its storage holds.
func (c *checker) crashed(m int, hs raft.HardState) {
	v := &c.members[m]
	v.mem.copyFrom(&v.disk)
	v.role, v.term, v.commit, v.applied = raft.Follower, hs.Term, hs.Commit, 0
	c.durable()
}

// restored checks that member m's core, just started, took up the hard
// state its storage holds.
func (c *checker) restored(m int, n *raft.Node, hs raft.HardState) {
	st := n.Status()
	if st.Term != hs.Term || st.Vote != hs.Vote || st.Commit < hs.Commit {
		c.fail(CoreError, "n%d restarted with term %d, vote %v, commit %d; its storage holds term %d, vote %v, commit %d",
			m+1, st.Term, st.Vote, st.Commit, hs.Term, hs.Vote, hs.Commit)
	}
}

// coreMatches cross-checks member m's core against the log its host saw
// (mem): the same term at every index and, if exact, the same last index
// (a core just started may hold entries it has yet to hand out).
func (c *checker) coreMatches(m int, n *raft.Node, when string, exact bool) {
	v := &c.members[m]
	st := n.Status()
	if st.LastIndex < v.mem.last() || (exact && st.LastIndex != v.mem.last()) {
		c.fail(CoreError, "n%d %s: core's last index %d, host saw %d", m+1, when, st.LastIndex, v.mem.last())
		return
	}
	for i := max(v.mem.base, 1); i <= v.mem.last(); i++ {
		t, ok := n.LogTerm(i)
		if !ok && i <= v.snapped {
			continue // compacted away
		}
		if !ok || t != v.mem.term(i) {
			c.fail(CoreError, "n%d %s: core has term %d (ok=%v) at index %d, host saw %d", m+1, when, t, ok, i, v.mem.term(i))
			return
		}
	}
}
