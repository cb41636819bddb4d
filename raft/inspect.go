package raft

// LogTerm returns the term of the entry at index i of the member's log as
// the core holds it in memory, persisted or not; ok is false when i lies
// beyond the last index or inside the snapshot (the snapshot's own index
// reports the snapshot's term). It changes nothing: it lets tests and the
// simulator check invariants against the core itself rather than only
// against what the host was handed.
func (n *Node) LogTerm(i uint64) (term uint64, ok bool) { return n.r.log.term(i) }
