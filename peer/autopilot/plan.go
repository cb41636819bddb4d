package autopilot

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// Defaults of Config.
const (
	DefaultTargetVoters = 5
	DefaultDeadTimeout  = 5 * time.Second
	// DefaultCatchUpLag is as many entries as the core keeps behind a
	// snapshot by default (raft.Config.CompactionKeepEntries): a learner
	// that close is caught up from the log, never with a snapshot, and at
	// the write rates measured it is a fraction of a second behind.
	DefaultCatchUpLag = 1000
)

// Config is the membership policy. Zero fields take the defaults.
type Config struct {
	// TargetVoters is the number of voters the cluster aims for. It must be
	// odd (see the package documentation). Default 5.
	TargetVoters int
	// DeadTimeout is how long a member may stay silent (the leader heard
	// nothing from it) before it is removed. Default 5 s.
	DeadTimeout time.Duration
	// CatchUpLag is how many entries behind the leader's last index a
	// learner may be and still count as caught up, ready to vote. Default
	// DefaultCatchUpLag.
	CatchUpLag uint64
	// RejoinDelay is how long a removed member that is still present waits
	// before it is added again: a member that just left, or was removed for
	// its silence while still in the room, is not taken straight back.
	// Default DeadTimeout.
	RejoinDelay time.Duration
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.TargetVoters == 0 {
		c.TargetVoters = DefaultTargetVoters
	}
	if c.DeadTimeout == 0 {
		c.DeadTimeout = DefaultDeadTimeout
	}
	if c.CatchUpLag == 0 {
		c.CatchUpLag = DefaultCatchUpLag
	}
	if c.RejoinDelay == 0 {
		c.RejoinDelay = c.DeadTimeout
	}
	return c
}

// Validate reports what is wrong with c (after defaults).
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.TargetVoters < 1 || c.TargetVoters%2 == 0 {
		errs = append(errs, fmt.Errorf("autopilot: TargetVoters is %d; it must be odd and at least 1", c.TargetVoters))
	}
	if c.DeadTimeout < 0 {
		errs = append(errs, fmt.Errorf("autopilot: DeadTimeout is negative (%v)", c.DeadTimeout))
	}
	if c.RejoinDelay < 0 {
		errs = append(errs, fmt.Errorf("autopilot: RejoinDelay is negative (%v)", c.RejoinDelay))
	}
	return errors.Join(errs...)
}

// Input is the leader's view of the cluster, everything Plan looks at.
type Input struct {
	// Leader is the member asking: it is never removed nor demoted.
	Leader raft.NodeID
	// Conf is the configuration in force.
	Conf raft.ConfState
	// ChangePending: a configuration change is proposed and not yet
	// applied (or the leader has not yet committed an entry of its term).
	ChangePending bool
	// LastIndex is the leader's last log index.
	LastIndex uint64
	// Members describes the members of Conf. One missing counts as live
	// and not caught up (missing data never removes anyone).
	Members map[raft.NodeID]Member
	// Present lists the ids that are reachable in principle (the signaling
	// room, the transport's roster); those not in Conf are added as
	// learners.
	Present []raft.NodeID
	// Leaving lists members that announced they are leaving: they are
	// removed at once, and not added again.
	Leaving []raft.NodeID
	// Removed gives, for members removed recently, how long ago; a present
	// member removed less than Config.RejoinDelay ago is not added again.
	Removed map[raft.NodeID]time.Duration
}

// Member is what the leader knows of one member.
type Member struct {
	// Match is the last index known to match the leader's log.
	Match uint64
	// SinceHeard is how long ago the leader last received a message from
	// it — or, when Unheard, how long ago the leader started to expect one
	// (the member's arrival in the configuration; a new leader, which knows
	// little of the others, leaves each a grace to show up).
	SinceHeard time.Duration
	// Unheard: nothing arrived from it since then. Such a member is not
	// removed before DeadTimeout, but never promoted either.
	Unheard bool
}

// Responsive reports whether m answers now: heard from within
// DeadTimeout/5 (the leader's heartbeats come every 50 ms or so). Only
// responsive learners are promoted: a learner that died a moment ago must
// not become a voter, for two of them promoted together would leave the
// cluster in a joint configuration it cannot leave.
func (c Config) Responsive(m Member) bool {
	c = c.WithDefaults()
	return !m.Unheard && m.SinceHeard < c.DeadTimeout/5
}

// Decision is what Plan suggests.
type Decision struct {
	// Change is the change to propose now; nil when there is none.
	Change *raft.ConfChange
	// Reason says why, or why nothing is done, in a few words for logs and
	// the cluster view.
	Reason string
}

// Plan decides the next membership change from the leader's view. It is
// a pure function of its arguments. An invalid c is made usable (an even
// TargetVoters counts as the odd number below it); validate it with
// Config.Validate.
func Plan(c Config, in Input) Decision {
	c = c.WithDefaults()
	if c.TargetVoters%2 == 0 {
		c.TargetVoters--
	}
	c.TargetVoters = max(c.TargetVoters, 1)
	p := planner{c: c, in: in}
	return p.plan()
}

type planner struct {
	c  Config
	in Input
}

func (p *planner) member(id raft.NodeID) (Member, bool) {
	if id == p.in.Leader {
		return Member{Match: p.in.LastIndex}, true
	}
	m, ok := p.in.Members[id]
	return m, ok
}

func (p *planner) dead(id raft.NodeID) bool {
	m, ok := p.member(id)
	return ok && id != p.in.Leader && m.SinceHeard >= p.c.DeadTimeout
}

func (p *planner) caughtUp(id raft.NodeID) bool {
	m, ok := p.member(id)
	return ok && m.Match > 0 && m.Match+p.c.CatchUpLag >= p.in.LastIndex
}

func (p *planner) plan() Decision {
	cs := p.in.Conf
	switch {
	case cs.IsJoint():
		return Decision{Reason: "waiting: the configuration is joint"}
	case p.in.ChangePending:
		return Decision{Reason: "waiting: a configuration change is pending"}
	case !slices.Contains(cs.Voters, p.in.Leader):
		return Decision{Reason: "waiting: the leader is not a voter of the configuration"}
	}
	var silent []raft.NodeID
	for _, id := range cs.Voters {
		if p.dead(id) {
			silent = append(silent, id)
		}
	}
	if live := len(cs.Voters) - len(silent); live <= len(cs.Voters)/2 {
		return Decision{Reason: fmt.Sprintf("no quorum: voters %s silent for %s or more; %d of %d voters live, a change needs %d",
			p.ids(silent), p.silence(silent), live, len(cs.Voters), len(cs.Voters)/2+1)}
	}

	var cc raft.ConfChange
	var why []string
	change := func(t raft.ConfChangeType, ids []raft.NodeID) {
		for _, id := range ids {
			cc.Changes = append(cc.Changes, raft.ConfChangeSingle{Type: t, Node: id})
		}
	}

	// Leaving and dead members go.
	leaving := setOf(p.in.Leaving)
	var gone, goneLeaving, goneDead []raft.NodeID
	for _, id := range append(slices.Clone(cs.Voters), cs.Learners...) {
		switch {
		case id == p.in.Leader:
			continue // it hands over first, then goes
		case leaving[id] && p.caughtUp(id):
			// Only once caught up: the leader's last message to a member it
			// removes commits the removal there, if the member's log holds
			// it — so that the member learns it is out, and stops.
			goneLeaving = append(goneLeaving, id)
		case p.dead(id):
			goneDead = append(goneDead, id)
		default:
			continue
		}
		gone = append(gone, id)
	}
	change(raft.RemoveMember, gone)
	if len(goneLeaving) > 0 {
		why = append(why, "remove "+p.ids(goneLeaving)+" (leaving)")
	}
	if len(goneDead) > 0 {
		why = append(why, fmt.Sprintf("remove %s (silent for %s or more)", p.ids(goneDead), p.silence(goneDead)))
	}
	removed := setOf(gone)

	// Voters: the largest odd count the live members allow.
	var keep, candidates []raft.NodeID
	for _, id := range cs.Voters {
		if !removed[id] {
			keep = append(keep, id)
		}
	}
	for _, id := range cs.Learners {
		if m, ok := p.member(id); ok && !removed[id] && !leaving[id] && p.caughtUp(id) && p.c.Responsive(m) {
			candidates = append(candidates, id)
		}
	}
	p.sortBest(candidates)
	want := min(p.c.TargetVoters, len(keep)+len(candidates))
	if want%2 == 0 {
		want--
	}
	switch {
	case want > len(keep):
		promote := slices.Clone(candidates[:want-len(keep)])
		slices.Sort(promote)
		change(raft.AddVoter, promote)
		why = append(why, fmt.Sprintf("promote %s (%d → %d voters)", p.ids(promote), len(cs.Voters), want))
	case want < len(keep):
		var others []raft.NodeID
		for _, id := range keep {
			if id != p.in.Leader {
				others = append(others, id)
			}
		}
		p.sortBest(others)
		demote := slices.Clone(others[len(others)-(len(keep)-want):])
		slices.Sort(demote)
		change(raft.AddLearner, demote)
		why = append(why, fmt.Sprintf("demote %s to keep an odd number of voters (%d → %d)",
			p.ids(demote), len(cs.Voters), want))
	}

	// Newcomers join as learners.
	members := setOf(append(slices.Clone(cs.Voters), cs.Learners...))
	var add []raft.NodeID
	for _, id := range p.in.Present {
		if id == raft.None || members[id] || leaving[id] || slices.Contains(add, id) {
			continue
		}
		if ago, ok := p.in.Removed[id]; ok && ago < p.c.RejoinDelay {
			continue
		}
		add = append(add, id)
	}
	slices.Sort(add)
	change(raft.AddLearner, add)
	if len(add) > 0 {
		why = append(why, "add learners "+p.ids(add))
	}

	if len(cc.Changes) == 0 {
		return Decision{Reason: p.stable()}
	}
	return Decision{Change: &cc, Reason: strings.Join(why, "; ")}
}

// sortBest orders ids from the best voter to the worst: those staying
// first, then those heard from, then the most caught up, then the most
// recently heard, then the lowest id.
func (p *planner) sortBest(ids []raft.NodeID) {
	leaving := setOf(p.in.Leaving)
	slices.SortFunc(ids, func(a, b raft.NodeID) int {
		ma, _ := p.member(a)
		mb, _ := p.member(b)
		switch {
		case leaving[a] != leaving[b]:
			if leaving[b] {
				return -1
			}
			return 1
		case ma.Unheard != mb.Unheard:
			if mb.Unheard {
				return -1
			}
			return 1
		case ma.Match != mb.Match:
			if ma.Match > mb.Match {
				return -1
			}
			return 1
		case ma.SinceHeard != mb.SinceHeard:
			if ma.SinceHeard < mb.SinceHeard {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		return 1
	})
}

func (p *planner) stable() string {
	cs := p.in.Conf
	s := fmt.Sprintf("stable: %d voters", len(cs.Voters))
	if n := len(cs.Learners); n > 0 {
		var behind int
		for _, id := range cs.Learners {
			if !p.caughtUp(id) {
				behind++
			}
		}
		s += fmt.Sprintf(", %d learners", n)
		if behind > 0 {
			s += fmt.Sprintf(" (%d catching up)", behind)
		}
	}
	return s
}

// ids formats ids as the signaling layer names members (lower-case hex).
func (p *planner) ids(ids []raft.NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(uint64(id), 16)
	}
	return strings.Join(s, ", ")
}

// silence is the shortest silence among ids, rounded for reading.
func (p *planner) silence(ids []raft.NodeID) string {
	var least time.Duration
	for i, id := range ids {
		if m, _ := p.member(id); i == 0 || m.SinceHeard < least {
			least = m.SinceHeard
		}
	}
	return least.Round(100 * time.Millisecond).String()
}

func setOf(ids []raft.NodeID) map[raft.NodeID]bool {
	m := make(map[raft.NodeID]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
