package sim

import (
	"math/bits"
	"slices"
	"strings"

	"github.com/tabraft/tabraft/raft"
)

// confMask is a configuration as sets of member indexes (bit m is member
// m, id m+1): the voters (incoming, in a joint configuration), the
// outgoing voters (empty unless joint), and the learners (with those that
// become learners when the joint configuration is left).
type confMask struct{ in, out, learners uint64 }

// maskOf is the set of ids.
func maskOf(ids []raft.NodeID) uint64 {
	var s uint64
	for _, x := range ids {
		if x >= 1 && x <= 64 {
			s |= 1 << (x - 1)
		}
	}
	return s
}

func confOf(cs raft.ConfState) confMask {
	return confMask{in: maskOf(cs.Voters), out: maskOf(cs.VotersOutgoing),
		learners: maskOf(cs.Learners) | maskOf(cs.LearnersNext)}
}

func (c confMask) empty() bool    { return c.in == 0 && c.out == 0 && c.learners == 0 }
func (c confMask) joint() bool    { return c.out != 0 }
func (c confMask) voters() uint64 { return c.in | c.out }

// quorum reports whether q holds a majority of the voters (of both
// halves of a joint configuration).
func (c confMask) quorum(q uint64) bool {
	return majority(c.in, q) && (c.out == 0 || majority(c.out, q))
}

func majority(set, q uint64) bool {
	return 2*bits.OnesCount64(set&q) > bits.OnesCount64(set)
}

// fmtSet writes a set of members as "(n1 n2 n3)".
func fmtSet(set uint64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := 0; set != 0; i++ {
		if set&1 != 0 {
			if b.Len() > 1 {
				b.WriteByte(' ')
			}
			b.WriteString(nodeName(id(i)))
		}
		set >>= 1
	}
	b.WriteByte(')')
	return b.String()
}

func (c confMask) String() string {
	s := fmtSet(c.in)
	if c.joint() {
		s = fmtSet(c.out) + "&&" + s
	}
	if c.learners != 0 {
		s += " learners " + fmtSet(c.learners)
	}
	return s
}

// decision is a choice the cluster made by counting a quorum: an election
// won, or a leader advancing its commit index.
type decision struct {
	election bool
	term     uint64
	index    uint64 // commits only
	who      raft.NodeID
	conf     confMask
	quorum   uint64
}

func (d decision) String() string {
	if d.election {
		return nodeName(d.who) + " elected in term " + utoa(d.term) + " by " + fmtSet(d.quorum) + " in configuration " + d.conf.String()
	}
	return nodeName(d.who) + " committing index " + utoa(d.index) + " in term " + utoa(d.term) + " on the acknowledgements of " +
		fmtSet(d.quorum) + " in configuration " + d.conf.String()
}

func utoa(x uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + x%10)
		x /= 10
		if x == 0 {
			return string(buf[i:])
		}
	}
}

// confHistory is what the checker knows about configurations: the index
// of every configuration-change entry ever handed out for applying, and
// the configuration each made (as the first member to apply it reported
// it in Ready.ConfState). Configurations are thus identified by the index
// of the entry that made them, and follow each other in index order.
//
// Configuration safety is checked as two properties of every decision: an
// election won (the winner and the members that sent it their vote in
// that term), and a leader advancing its commit index (the voters whose
// match in the leader's progress covers the new commit index):
//
//  1. its quorum is a quorum of the configuration the decider was in when
//     it decided (its configuration as of its last Ready: changes take
//     effect only as they are handed out for applying), a majority of
//     both halves of a joint configuration;
//  2. its quorum intersects the quorum of every other decision made in
//     the same configuration or in the one just before or after it. A
//     one-voter change, and the steps into and out of a joint
//     configuration, guarantee that any quorum of a configuration
//     intersects any quorum of its neighbours; two disjoint majorities
//     that both decided mean that some member skipped a step (two voters
//     changed at once without a joint configuration) or counted a
//     configuration that never was.
//
// The quorums recorded are supersets of the ones really counted (votes as
// sent, progress as of the Ready), so neither property can fire on a
// correct run; the consequences of a broken quorum on the log are caught
// by election safety and leader completeness.
type confHistory struct {
	idx   []uint64
	confs map[uint64]confMask
	// decided holds the distinct quorums that decided in each configuration.
	decided map[uint64][]decision
}

func newConfHistory() confHistory {
	return confHistory{idx: []uint64{1}, confs: map[uint64]confMask{}, decided: map[uint64][]decision{}}
}

// noteEntry records a configuration-change entry at index i.
func (h *confHistory) noteEntry(i uint64) {
	k, found := slices.BinarySearch(h.idx, i)
	if !found {
		h.idx = slices.Insert(h.idx, k, i)
	}
}

// at is the index of the configuration in force with the log applied
// through i (0: none).
func (h *confHistory) at(i uint64) uint64 {
	k, found := slices.BinarySearch(h.idx, i)
	if found {
		return i
	}
	if k == 0 {
		return 0
	}
	return h.idx[k-1]
}

// set records that the entry at i made configuration cs. It reports
// whether it was not known, and the configuration before it.
func (h *confHistory) set(i uint64, cs confMask) (prev confMask, isNew bool) {
	if i == 0 || cs.empty() {
		return confMask{}, false
	}
	if _, ok := h.confs[i]; ok {
		return confMask{}, false
	}
	h.confs[i] = cs
	if p := h.at(i - 1); p > 0 {
		prev = h.confs[p]
	}
	return prev, true
}

// latest is the newest known configuration.
func (h *confHistory) latest() confMask {
	cs, _ := h.latestAt()
	return cs
}

// latestAt is the newest known configuration and the index of the entry
// that made it.
func (h *confHistory) latestAt() (confMask, uint64) {
	for k := len(h.idx) - 1; k >= 0; k-- {
		if cs, ok := h.confs[h.idx[k]]; ok {
			return cs, h.idx[k]
		}
	}
	return confMask{}, 0
}

// neighbours are the configurations next to the one made at i (those
// whose configuration is known), and i itself.
func (h *confHistory) neighbours(i uint64) []uint64 {
	out := []uint64{i}
	k, _ := slices.BinarySearch(h.idx, i)
	for j := k - 1; j >= 0; j-- {
		if _, ok := h.confs[h.idx[j]]; ok {
			out = append(out, h.idx[j])
			break
		}
	}
	for j := k + 1; j < len(h.idx); j++ {
		if _, ok := h.confs[h.idx[j]]; ok {
			out = append(out, h.idx[j])
			break
		}
	}
	return out
}

// decide records decision d, made in the configuration of index ci, and
// checks it (see confHistory).
func (c *checker) decide(d decision, ci uint64) {
	if d.conf.empty() || ci == 0 {
		return
	}
	d.quorum &= d.conf.voters()
	if !d.conf.quorum(d.quorum) {
		c.fail(ConfigSafety, "%s: not a quorum of it", d)
		return
	}
	h := &c.conf
	for _, cj := range h.neighbours(ci) {
		for _, e := range h.decided[cj] {
			if e.quorum&d.quorum == 0 {
				c.fail(ConfigSafety, "two disjoint majorities decided: %s; %s", e, d)
				return
			}
		}
	}
	for _, e := range h.decided[ci] {
		if e.quorum == d.quorum {
			return
		}
	}
	h.decided[ci] = append(h.decided[ci], d)
}

// electionWon records member m winning term with configuration conf.
func (c *checker) electionWon(m int, term uint64, conf confMask) {
	q := uint64(1) << m
	for v := range c.members {
		if c.votes[logPos{uint64(v), term}] == id(m) {
			q |= 1 << v
		}
	}
	c.decide(decision{election: true, term: term, who: id(m), conf: conf, quorum: q}, c.members[m].confIdx)
}

// commitDecided records leader m advancing its commit index to index in
// term, with configuration conf and progress as the leader sees it after
// the Ready. A voter of conf missing from the progress was dropped by a
// change this Ready applied: its match is unknown, and it is counted as
// acknowledging (which only weakens the check).
func (c *checker) commitDecided(m int, index, term uint64, conf confMask, progress map[raft.NodeID]raft.ProgressStatus) {
	q := conf.voters()
	for x, p := range progress {
		if p.Match < index && x >= 1 && x <= 64 {
			q &^= 1 << (x - 1)
		}
	}
	c.decide(decision{term: term, index: index, who: id(m), conf: conf, quorum: q}, c.members[m].confIdx)
}
