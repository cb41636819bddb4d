package sim

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// Membership changes: the nemesis proposes random valid configuration
// changes on the leader during the fault phase.
const (
	// membershipInterval is the mean time between two changes.
	membershipInterval = 1500 * time.Millisecond
	// membershipRetry is how soon a refused change is retried.
	membershipRetry = 50 * time.Millisecond
	// maxJoins bounds the members added to a run.
	maxJoins = 3
	// maxVoters bounds the voters of a configuration.
	maxVoters = 7
)

// membershipWake is the nemesis changing the configuration, then (unless
// retry) scheduling its next change.
func (s *Simulation) membershipWake(retry bool) {
	if retry {
		s.retrying = false
	}
	if s.healed {
		return
	}
	if !retry {
		if next := s.now + 1 + durN(s.rng, 2*membershipInterval); next < s.cfg.Duration {
			s.schedule(event{at: next, kind: evMembership})
		}
	}
	l := s.leader()
	if l < 0 {
		s.retryMembership()
		return
	}
	lm := s.members[l]
	cs := lm.node.Members()
	s.retireRemoved(s.check.conf.latest())
	if cs.IsJoint() {
		return // the leader leaves it on its own
	}
	cc, ok := s.retryCC, s.retryCC.Changes != nil && retry && s.mayRetry(s.retryCC, cs)
	s.retryCC = raft.ConfChange{}
	if !ok {
		cc, ok = s.pickConfChange(cs, lm.id)
	}
	if !ok {
		return
	}
	lm.inbox = append(lm.inbox, input{kind: inConfChange, cc: cc, conf: confOf(cs)})
	s.pump(lm)
}

// retryMembership schedules a retry, unless one is already scheduled.
func (s *Simulation) retryMembership() {
	if !s.retrying && !s.healed {
		s.retrying = true
		s.schedule(event{at: s.now + membershipRetry, kind: evMembership, sub: 1})
	}
}

// mayRetry reports whether cc still makes sense on cs: it adds no member
// that has been removed meanwhile (removed members never come back).
func (s *Simulation) mayRetry(cc raft.ConfChange, cs raft.ConfState) bool {
	in := confOf(cs)
	for _, c := range cc.Changes {
		x := int(c.Node) - 1
		if c.Type == raft.RemoveMember || x >= len(s.members) || (in.voters()|in.learners)&(1<<x) != 0 {
			continue
		}
		if m := s.members[x]; m.retired || m.wasIn {
			return false
		}
	}
	return true
}

// retireRemoved shuts down, for good, some of the members that conf (the
// leader's) no longer holds; the others keep running, and must not
// disrupt the cluster.
func (s *Simulation) retireRemoved(conf confMask) {
	in := conf.voters() | conf.learners
	for _, m := range s.members {
		if in&(1<<m.idx) != 0 || m.retired || !m.wasIn || s.rng.IntN(2) == 0 {
			continue
		}
		s.nar.say(s.now, "%s, removed from the configuration, shuts down", nodeName(m.id))
		m.retired = true
		if m.up {
			s.crash(m)
		}
	}
}

// pickConfChange chooses a valid change of cs: a new member joining as a
// learner, a learner promoted, a voter demoted or removed, a learner
// removed, or several voters at once (a joint change). The voters stay
// between min(Members, 3) and maxVoters; the leader is never demoted or
// removed (the core supports it, but then the change is mostly a leader
// transfer).
func (s *Simulation) pickConfChange(cs raft.ConfState, leader raft.NodeID) (raft.ConfChange, bool) {
	minVoters := min(s.cfg.Members, 3)
	var others []raft.NodeID // voters other than the leader
	for _, v := range cs.Voters {
		if v != leader {
			others = append(others, v)
		}
	}
	learners := cs.Learners
	nv := len(cs.Voters)
	pick := func(ids []raft.NodeID) raft.NodeID { return ids[s.rng.IntN(len(ids))] }
	one := func(t raft.ConfChangeType, x raft.NodeID) (raft.ConfChange, bool) {
		return raft.ConfChange{Changes: []raft.ConfChangeSingle{{Type: t, Node: x}}}, true
	}
	switch s.rng.IntN(6) {
	case 0, 1: // join
		if j := s.joiner(cs); j != nil {
			return one(raft.AddLearner, j.id)
		}
	case 2: // promote
		if len(learners) > 0 && nv < maxVoters {
			return one(raft.AddVoter, pick(learners))
		}
	case 3: // demote or remove a voter
		if nv > minVoters && len(others) > 0 {
			if s.rng.IntN(2) == 0 {
				return one(raft.AddLearner, pick(others))
			}
			return one(raft.RemoveMember, pick(others))
		}
	case 4: // remove a learner
		if len(learners) > 0 {
			return one(raft.RemoveMember, pick(learners))
		}
	case 5: // joint: swap voters, or promote or demote two at once
		var cc raft.ConfChange
		p := s.rng.Perm(len(learners))
		q := s.rng.Perm(len(others))
		switch {
		case len(learners) > 0 && len(others) > 0 && s.rng.IntN(2) == 0:
			// Swap: a learner in, a voter out (demoted or removed).
			out := raft.AddLearner
			if s.rng.IntN(2) == 0 {
				out = raft.RemoveMember
			}
			cc.Changes = []raft.ConfChangeSingle{{Type: raft.AddVoter, Node: learners[p[0]]}, {Type: out, Node: others[q[0]]}}
		case len(learners) >= 2 && nv+2 <= maxVoters:
			cc.Changes = []raft.ConfChangeSingle{{Type: raft.AddVoter, Node: learners[p[0]]}, {Type: raft.AddVoter, Node: learners[p[1]]}}
		case len(others) >= 2 && nv-2 >= minVoters:
			cc.Changes = []raft.ConfChangeSingle{{Type: raft.AddLearner, Node: others[q[0]]}, {Type: raft.RemoveMember, Node: others[q[1]]}}
		default:
			return cc, false
		}
		return cc, true
	}
	return raft.ConfChange{}, false
}

// joiner returns a member to add: one started earlier whose addition was
// never proposed, or a brand-new one (nil when the run added enough).
func (s *Simulation) joiner(cs raft.ConfState) *member {
	in := confOf(cs)
	for _, m := range s.members {
		if m.joiner && !m.added && !m.retired && (in.voters()|in.learners)&(1<<m.idx) == 0 {
			return m
		}
	}
	if len(s.members) >= s.cfg.Members+maxJoins || len(s.members) >= 64 {
		return nil
	}
	return s.addMember()
}

// addMember starts a brand-new member: empty storage, no voters, reachable
// through the network; it waits for the leader to add it.
func (s *Simulation) addMember() *member {
	i := len(s.members)
	m := &member{idx: i, id: id(i), store: raft.NewMemoryStorage(), joiner: true}
	s.members = append(s.members, m)
	s.view = append(s.view, memberState{})
	s.check.addMember()
	s.net.grow()
	s.stats.Joins++
	s.nar.say(s.now, "%s starts, empty, waiting to be added", nodeName(m.id))
	s.startMember(m)
	s.pump(m)
	return m
}

// proposeConfChange hands cc to member m's core; a refusal that a client
// would retry (a change pending, no leader, leadership moving, the
// configuration changed meanwhile) is retried soon.
//
// The change is only proposed if m still leads with the configuration cc
// was chosen for: a host that was frozen or busy may find itself deposed
// or behind, and a change forwarded to another leader could bring back a
// member removed meanwhile.
func (s *Simulation) proposeConfChange(m *member, cc raft.ConfChange, conf confMask) {
	err := raft.ErrProposalDropped
	if st := m.node.Status(); st.Role == raft.Leader && confOf(m.node.Members()) == conf {
		err = m.node.ProposeConfChange(cc)
	}
	switch {
	case err == nil:
		s.trace.mix(uint64(len(cc.Changes)), uint64(cc.Changes[0].Node))
		for _, c := range cc.Changes {
			if c.Type == raft.AddLearner || c.Type == raft.AddVoter {
				if x := int(c.Node) - 1; x < len(s.members) {
					s.members[x].added = true
				}
			}
		}
		s.nar.say(s.now, "%s, the leader, proposes %s (its configuration: %s)", nodeName(m.id), fmtConfChange(cc), confOf(m.node.Members()))
	case errors.Is(err, raft.ErrInvalidConfChange):
		// The configuration changed since the change was picked.
	case errors.Is(err, raft.ErrConfChangePending), errors.Is(err, raft.ErrProposalDropped),
		errors.Is(err, raft.ErrNoLeader):
		// Retried as a client would, on whoever leads then (the core
		// checks it is still valid there).
		s.stats.ConfRetries++
		s.retryCC = cc
		s.retryMembership()
	default:
		s.check.fail(CoreError, "n%d: ProposeConfChange(%s): %v", m.id, fmtConfChange(cc), err)
	}
}

func fmtConfChange(cc raft.ConfChange) string {
	if cc.LeaveJoint {
		return "leaving the joint configuration"
	}
	var parts []string
	for _, c := range cc.Changes {
		parts = append(parts, fmt.Sprintf("%s %s", c.Type, nodeName(c.Node)))
	}
	return strings.Join(parts, ", ")
}

// confChanged counts and tells a configuration coming into force for the
// first time.
func (s *Simulation) confChanged(prev, cs confMask) {
	if s.churn != nil {
		s.countReadded(prev, cs)
	}
	for _, m := range s.members {
		if (cs.voters()|cs.learners)&(1<<m.idx) != 0 {
			m.wasIn = true
		}
	}
	if prev.empty() {
		return
	}
	st := &s.stats
	st.ConfChanges++
	var what []string
	was := prev.voters() | prev.learners
	for i := range s.members {
		b := uint64(1) << i
		n := nodeName(id(i))
		switch {
		case cs.in&b != 0 && prev.in&b == 0 && prev.learners&b != 0:
			st.Promotions++
			what = append(what, n+" promoted to voter")
		case cs.in&b != 0 && was&b == 0:
			st.Added++
			what = append(what, n+" joins as a voter")
		case cs.learners&b != 0 && was&b == 0:
			st.Added++
			what = append(what, n+" joins as a learner")
		case cs.learners&b != 0 && prev.in&b != 0 && cs.in&b == 0:
			st.Demotions++
			what = append(what, n+" demoted to learner")
		case was&b != 0 && (cs.voters()|cs.learners)&b == 0:
			st.Removals++
			what = append(what, n+" removed")
		case cs.voters()&b != 0 && cs.in&b == 0 && prev.in&b != 0:
			what = append(what, n+" leaves the voters")
		}
	}
	switch {
	case cs.joint():
		st.JointChanges++
		what = append(what, "joint configuration "+cs.String()+" entered")
	case prev.joint():
		what = append(what, "joint configuration "+prev.String()+" left")
	}
	if s.nar.on() {
		slices.Sort(what)
		s.nar.say(s.now, "configuration %s: %s", cs, strings.Join(what, "; "))
	}
}
