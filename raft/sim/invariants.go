package sim

import (
	"fmt"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// Invariant names a property the simulator checks.
type Invariant uint8

const (
	// ElectionSafety: at most one leader per term.
	ElectionSafety Invariant = iota + 1
	// LogMatching: two logs holding an entry with the same index and term
	// are identical up to it.
	LogMatching
	// LeaderCompleteness: an entry committed in a term is in the log of
	// every leader of a later term.
	LeaderCompleteness
	// CommitAgreement: no two members ever report different entries
	// committed at one index.
	CommitAgreement
	// StateMachineSafety: no two members apply different entries at one
	// index, every member applies in order, and only committed entries.
	StateMachineSafety
	// CommittedDurable: every entry ever reported committed is in the
	// persisted log of a quorum of members, crashes notwithstanding.
	CommittedDurable
	// VoteSafety: a member grants at most one vote per term, and asks for
	// or grants a vote only once it is persisted (or a later term is).
	VoteSafety
	// PersistBeforeSend: no message promises more than is durable (a term
	// above the persisted one, an acknowledgement of unpersisted entries).
	PersistBeforeSend
	// Linearizability: the client history is linearizable (porcupine).
	Linearizability
	// Liveness: after every fault heals, a leader is elected, pending
	// operations complete and members catch up within the bound.
	Liveness
	// CoreError: the core refused input a correct peer produced, failed to
	// restart from its own storage, or its log differs from what it handed
	// the host.
	CoreError
	// Panic: the core or the simulator panicked.
	Panic
)

var invariantNames = [...]string{
	ElectionSafety: "election safety", LogMatching: "log matching",
	LeaderCompleteness: "leader completeness", CommitAgreement: "commit agreement",
	StateMachineSafety: "state machine safety", CommittedDurable: "committed entries durable",
	VoteSafety: "vote safety", PersistBeforeSend: "persist before send",
	Linearizability: "linearizability", Liveness: "liveness", CoreError: "core error",
	Panic: "no panic",
}

func (v Invariant) String() string {
	if int(v) < len(invariantNames) && invariantNames[v] != "" {
		return invariantNames[v]
	}
	return fmt.Sprintf("Invariant(%d)", uint8(v))
}

// Violation is a broken invariant.
type Violation struct {
	At        time.Duration
	Invariant Invariant
	Detail    string
}

func (v Violation) String() string {
	return fmt.Sprintf("t=%s  %s violated: %s", fmtTime(v.At), v.Invariant, v.Detail)
}

// logPos is an (index, term) pair, or a (member, term) pair for votes.
type logPos struct{ a, b uint64 }

// commitRecord is what the checker knows about a committed index.
type commitRecord struct {
	term, chain uint64
	// commitTerm is the term of the member that first reported the index
	// committed: never below the term it was really committed in, so every
	// leader of a later term must hold it.
	commitTerm uint64
	first      raft.NodeID
}

// memberView is what the checker tracks about one member.
type memberView struct {
	// mem follows the core's log (as of its last Ready), disk the log
	// persisted in its storage.
	mem, disk logMirror
	role      raft.Role
	term      uint64
	commit    uint64
	applied   uint64
	// snapped is the index of the latest snapshot the member took or
	// installed: the core may have dropped the entries up to it.
	snapped uint64
}

// checker holds the global knowledge the invariants are checked against.
// It sees members only through what their hosts see: Readys, messages,
// storage, Status and LogTerm.
type checker struct {
	now        *time.Duration
	quorum     int
	members    []memberView
	violations []Violation

	leaders   map[uint64]int         // term → member index
	chains    map[logPos]uint64      // (index, term) → chain hash
	votes     map[logPos]raft.NodeID // (voter, term) → candidate
	committed []commitRecord         // committed[i-1]
	applied   []uint64               // entry hash applied at index i-1
	snapshots map[uint64]uint64      // index → hash of the state machine image
}

func newChecker(members int, now *time.Duration) *checker {
	return &checker{
		now: now, quorum: members/2 + 1, members: make([]memberView, members),
		leaders: map[uint64]int{}, chains: map[logPos]uint64{}, votes: map[logPos]raft.NodeID{},
		snapshots: map[uint64]uint64{},
	}
}

func (c *checker) fail(inv Invariant, format string, args ...any) {
	c.violations = append(c.violations, Violation{At: *c.now, Invariant: inv, Detail: fmt.Sprintf(format, args...)})
}

func id(m int) raft.NodeID { return raft.NodeID(m + 1) }

// ready checks what member m's core handed out in a Ready. st is the
// member's Status when its role or term may have changed, else nil. It
// reports whether m just became leader.
func (c *checker) ready(m int, rd *raft.Ready, st *raft.Status) (newLeader bool) {
	v := &c.members[m]
	if !rd.Snapshot.IsEmpty() {
		if chain, ok := c.snapshotOK(m, &rd.Snapshot); ok {
			v.mem.install(rd.Snapshot.Meta.Index, rd.Snapshot.Meta.Term, chain)
		}
	}
	if !v.mem.write(rd.Entries, func(index, term, chain uint64) {
		k := logPos{index, term}
		if prev, ok := c.chains[k]; !ok {
			c.chains[k] = chain
		} else if prev != chain {
			c.fail(LogMatching, "n%d holds entry %d of term %d with a log before it that differs from another member's", m+1, index, term)
		}
	}) {
		c.fail(CoreError, "n%d: Ready entries from %d leave a gap after %d", m+1, rd.Entries[0].Index, v.mem.last())
	}
	if st != nil {
		if st.LastIndex != v.mem.last() || st.LastTerm != v.mem.term(st.LastIndex) {
			c.fail(CoreError, "n%d: Status says last entry %d/%d, the Readys gave %d/%d",
				m+1, st.LastIndex, st.LastTerm, v.mem.last(), v.mem.term(v.mem.last()))
		}
		if st.Term < v.term {
			c.fail(CoreError, "n%d: term went back from %d to %d", m+1, v.term, st.Term)
		}
		wasLeader := v.role == raft.Leader && v.term == st.Term
		v.role, v.term = st.Role, st.Term
		if st.Role == raft.Leader && !wasLeader {
			if prev, ok := c.leaders[st.Term]; ok && prev != m {
				c.fail(ElectionSafety, "n%d and n%d are both leaders of term %d", prev+1, m+1, st.Term)
			} else if !ok {
				c.leaders[st.Term] = m
				newLeader = true
			}
			c.leaderHasCommitted(m)
		}
	}
	if hs := rd.HardState; !hs.IsEmpty() {
		if hs.Term > v.term {
			v.term = hs.Term
		}
		if hs.Commit > v.commit {
			c.commitObserved(m, hs.Commit, hs.Term)
		}
	}
	return newLeader
}

// leaderHasCommitted checks that leader m holds every entry committed in a
// term before its own.
func (c *checker) leaderHasCommitted(m int) {
	v := &c.members[m]
	i := len(c.committed)
	for i > 0 && c.committed[i-1].commitTerm >= v.term {
		i--
	}
	if i > 0 && !v.mem.covers(uint64(i)) && v.mem.chain(uint64(i)) != c.committed[i-1].chain {
		rec := c.committed[i-1]
		c.fail(LeaderCompleteness, "n%d leads term %d without entry %d, committed in term %d (first reported by n%d); it holds %d entries",
			m+1, v.term, i, rec.commitTerm, rec.first, v.mem.last())
	}
}

// commitObserved handles member m reporting commit index commit in term.
func (c *checker) commitObserved(m int, commit, term uint64) {
	v := &c.members[m]
	v.commit = commit
	if commit > v.mem.last() {
		c.fail(CoreError, "n%d reports commit %d beyond its last entry %d", m+1, commit, v.mem.last())
		return
	}
	known := uint64(len(c.committed))
	check := min(commit, known)
	if check > 0 && !v.mem.covers(check) && v.mem.chain(check) != c.committed[check-1].chain {
		lo := max(v.mem.base+1, 1)
		for lo < check && v.mem.chain(lo) == c.committed[lo-1].chain {
			lo++
		}
		c.fail(CommitAgreement, "n%d reports index %d committed, but its entry %d (term %d) differs from the one n%d reported committed (term %d)",
			m+1, commit, lo, v.mem.term(lo), c.committed[lo-1].first, c.committed[lo-1].term)
		return
	}
	if commit <= known {
		return
	}
	for i := known + 1; i <= commit; i++ {
		c.committed = append(c.committed, commitRecord{term: v.mem.term(i), chain: v.mem.chain(i), commitTerm: term, first: id(m)})
	}
	for l := range c.members {
		if lv := &c.members[l]; lv.role == raft.Leader && lv.term > term {
			c.leaderHasCommitted(l)
		}
	}
	c.durable()
}

// durable checks that the committed prefix is persisted on a quorum.
func (c *checker) durable() {
	k := uint64(len(c.committed))
	if k == 0 {
		return
	}
	want := c.committed[k-1].chain
	var on []raft.NodeID
	for m := range c.members {
		// Entry 1 is the bootstrap configuration, committed by fiat: a
		// member that never persisted it writes the same entry again.
		if d := &c.members[m].disk; d.covers(k) || d.chain(k) == want || (k == 1 && d.last() == 0) {
			on = append(on, id(m))
		}
	}
	if len(on) < c.quorum {
		c.fail(CommittedDurable, "the log up to committed index %d is persisted on %d members only %v, a quorum is %d",
			k, len(on), on, c.quorum)
	}
}

// persisted records entries member m's host wrote to its storage.
func (c *checker) persisted(m int, ents []raft.Entry) {
	if len(ents) == 0 {
		return
	}
	v := &c.members[m]
	if !v.disk.write(ents, nil) {
		c.fail(CoreError, "n%d: persisted entries from %d leave a gap after %d", m+1, ents[0].Index, v.disk.last())
	}
	c.durable()
}

// sent checks a message member m sends, hs being its persisted hard state.
func (c *checker) sent(m int, msg *raft.Message, hs raft.HardState) {
	switch msg.Type {
	case raft.MsgPreVote, raft.MsgPreVoteResp:
		// A pre-vote is about a term not yet entered, and promises nothing.
		return
	}
	if msg.Term > hs.Term {
		c.fail(PersistBeforeSend, "n%d sends %s in term %d with term %d persisted", m+1, msg.Type, msg.Term, hs.Term)
		return
	}
	switch msg.Type {
	// A vote is safe once the persisted state forbids voting otherwise in
	// its term: the vote itself, or a later term.
	case raft.MsgVote:
		if hs.Term == msg.Term && hs.Vote != id(m) {
			c.fail(VoteSafety, "n%d campaigns in term %d with %d/%v persisted as term/vote", m+1, msg.Term, hs.Term, hs.Vote)
		}
	case raft.MsgVoteResp:
		if msg.Reject {
			return
		}
		k := logPos{uint64(m), msg.Term}
		if prev, ok := c.votes[k]; ok && prev != msg.To {
			c.fail(VoteSafety, "n%d votes for n%d and for n%d in term %d", m+1, prev, msg.To, msg.Term)
		}
		c.votes[k] = msg.To
		if hs.Term == msg.Term && hs.Vote != msg.To {
			c.fail(VoteSafety, "n%d grants its vote in term %d to n%d with %d/%v persisted as term/vote", m+1, msg.Term, msg.To, hs.Term, hs.Vote)
		}
	case raft.MsgAppResp:
		// An acknowledgement is a claim about the log in its term. If the
		// member has since moved to a later term, the acknowledged entries
		// may have been legitimately overwritten within the same Ready (as
		// if they had been persisted and then replaced).
		if !msg.Reject && hs.Term == msg.Term && msg.Index > c.members[m].disk.last() {
			c.fail(PersistBeforeSend, "n%d acknowledges index %d with %d entries persisted", m+1, msg.Index, c.members[m].disk.last())
		}
	}
}

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
