package sim

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/tabraft/tabraft/raft"
)

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
	// conf is the configuration of the member that first reported the
	// index committed, when it decided.
	conf confMask
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
	// conf is the configuration in force on the member as of its last
	// Ready (empty if not known).
	conf confMask
	// confIdx is the index of the entry that made conf.
	confIdx uint64
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
	conf      confHistory
	// progress, when set, returns member m's Status (to read a leader's
	// progress view when it advances its commit index).
	progress func(m int) raft.Status
	// onConf, when set, is told of every configuration the first time it
	// comes into force, with the one before it.
	onConf func(prev, cur confMask)
	// maxVoters, when positive, bounds the voters of every configuration
	// a member applies (of each half of a joint one).
	maxVoters int
}

func newChecker(members int, now *time.Duration) *checker {
	return &checker{
		now: now, quorum: members/2 + 1, members: make([]memberView, members),
		leaders: map[uint64]int{}, chains: map[logPos]uint64{}, votes: map[logPos]raft.NodeID{},
		snapshots: map[uint64]uint64{}, conf: newConfHistory(),
	}
}

// setConf records member m's configuration, made by the entry at index ci.
func (c *checker) setConf(m int, cs confMask, ci uint64) {
	v := &c.members[m]
	v.conf, v.confIdx = cs, ci
	if c.maxVoters > 0 && (bits.OnesCount64(cs.in) > c.maxVoters || bits.OnesCount64(cs.out) > c.maxVoters) {
		c.fail(VoterBound, "n%d applies configuration %s (made by entry %d): more than %d voters", m+1, cs, ci, c.maxVoters)
	}
	if prev, isNew := c.conf.set(ci, cs); isNew && c.onConf != nil {
		c.onConf(prev, cs)
	}
}

// started records member m's core starting with configuration cs,
// which includes every change committed in its log (through commit).
func (c *checker) started(m int, cs confMask, commit uint64) {
	c.setConf(m, cs, c.conf.at(commit))
}

// addMember makes room for one more member.
func (c *checker) addMember() { c.members = append(c.members, memberView{}) }

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
				c.electionWon(m, st.Term, v.conf)
			}
			c.leaderHasCommitted(m)
		}
	}
	if hs := rd.HardState; !hs.IsEmpty() {
		if hs.Term > v.term {
			v.term = hs.Term
		}
		if hs.Commit > v.commit {
			if v.role == raft.Leader && v.term == hs.Term && c.progress != nil {
				st := c.progress(m)
				c.commitDecided(m, hs.Commit, hs.Term, v.conf, st.Progress)
			}
			c.commitObserved(m, hs.Commit, hs.Term)
		}
	}
	if !rd.Snapshot.IsEmpty() {
		v.confIdx = max(v.confIdx, c.conf.at(rd.Snapshot.Meta.Index))
	}
	for i := range rd.CommittedEntries {
		if e := &rd.CommittedEntries[i]; e.Type == raft.EntryConfChange {
			c.conf.noteEntry(e.Index)
			v.confIdx = max(v.confIdx, e.Index)
		}
	}
	if rd.ConfState != nil {
		c.setConf(m, confOf(*rd.ConfState), v.confIdx)
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
		c.committed = append(c.committed, commitRecord{term: v.mem.term(i), chain: v.mem.chain(i), commitTerm: term, first: id(m), conf: v.conf})
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
	conf := c.committed[k-1].conf
	var on []raft.NodeID
	var onMask uint64
	for m := range c.members {
		// Entry 1 is the bootstrap configuration, committed by fiat: a
		// member that never persisted it writes the same entry again.
		if d := &c.members[m].disk; d.covers(k) || d.chain(k) == want || (k == 1 && d.last() == 0) {
			on = append(on, id(m))
			onMask |= 1 << m
		}
	}
	if !conf.empty() {
		if !conf.quorum(onMask) {
			c.fail(CommittedDurable, "the log up to committed index %d is persisted on %v only, not a quorum of %s",
				k, on, conf)
		}
		return
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
