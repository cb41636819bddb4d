package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft"
)

// These tests feed the checker hand-made observations: a consistent story
// must pass, and each broken one must be reported as the right invariant.

func newTestChecker(members int) *checker {
	var now time.Duration
	return newChecker(members, &now)
}

func ent(index, term uint64, data string) raft.Entry {
	return raft.Entry{Index: index, Term: term, Data: []byte(data)}
}

func leaderStatus(term, last, lastTerm uint64) *raft.Status {
	return &raft.Status{Role: raft.Leader, Term: term, LastIndex: last, LastTerm: lastTerm}
}

// wantOnly asserts the checker found exactly the given invariants, in order.
func wantOnly(t *testing.T, c *checker, want ...Invariant) {
	t.Helper()
	var got []Invariant
	for _, v := range c.violations {
		got = append(got, v.Invariant)
	}
	if len(got) != len(want) {
		t.Fatalf("violations %v, want %v", c.violations, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("violations %v, want %v", c.violations, want)
		}
	}
}

// replicate has members store and persist the same log, then report it
// committed.
func replicate(c *checker, members []int, ents []raft.Entry, hs raft.HardState) {
	for _, m := range members {
		c.ready(m, &raft.Ready{Entries: ents}, nil)
		c.persisted(m, ents)
	}
	for _, m := range members {
		c.ready(m, &raft.Ready{HardState: hs}, nil)
	}
}

func TestCheckerAcceptsAConsistentStory(t *testing.T) {
	c := newTestChecker(3)
	log := []raft.Entry{ent(1, 1, ""), ent(2, 2, "a"), ent(3, 2, "b")}
	if !c.ready(0, &raft.Ready{Entries: log}, leaderStatus(2, 3, 2)) {
		t.Fatal("n1 becoming leader was not reported")
	}
	c.persisted(0, log)
	replicate(c, []int{1, 2}, log, raft.HardState{Term: 2})
	c.ready(0, &raft.Ready{HardState: raft.HardState{Term: 2, Vote: 1, Commit: 3}}, nil)
	for m := range 3 {
		c.ready(m, &raft.Ready{HardState: raft.HardState{Term: 2, Vote: 1, Commit: 3}}, nil)
		for i := range log {
			c.apply(m, &log[i])
		}
	}
	c.sent(1, &raft.Message{Type: raft.MsgVoteResp, From: 2, To: 1, Term: 2}, raft.HardState{Term: 2, Vote: 1})
	c.sent(1, &raft.Message{Type: raft.MsgAppResp, From: 2, To: 1, Term: 2, Index: 3}, raft.HardState{Term: 2, Vote: 1})
	// A crash and restart keep the persisted log; a later leader holds it.
	c.crashed(0, raft.HardState{Term: 2, Vote: 1, Commit: 3})
	next := append(log, ent(4, 3, ""))
	c.ready(1, &raft.Ready{Entries: next[3:]}, leaderStatus(3, 4, 3))
	wantOnly(t, c)
}

func TestCheckerTwoLeadersInATerm(t *testing.T) {
	c := newTestChecker(3)
	c.ready(0, &raft.Ready{}, leaderStatus(4, 0, 0))
	c.ready(1, &raft.Ready{}, leaderStatus(4, 0, 0))
	wantOnly(t, c, ElectionSafety)
}

func TestCheckerConflictingAppliedEntries(t *testing.T) {
	c := newTestChecker(3)
	a, b := ent(1, 1, "a"), ent(1, 1, "b")
	replicate(c, []int{0, 1}, []raft.Entry{a}, raft.HardState{Term: 1, Commit: 1})
	c.apply(0, &a)
	// n2 applies another entry at index 1, as a core handing out the wrong
	// entries would.
	c.apply(1, &b)
	wantOnly(t, c, StateMachineSafety, StateMachineSafety)
	if !strings.Contains(c.violations[0].Detail, "different entry at index 1") ||
		!strings.Contains(c.violations[1].Detail, "not the committed one") {
		t.Fatalf("details do not name the conflict: %v", c.violations)
	}
}

func TestCheckerAppliesOutOfOrder(t *testing.T) {
	c := newTestChecker(1)
	log := []raft.Entry{ent(1, 1, "a"), ent(2, 1, "b")}
	replicate(c, []int{0}, log, raft.HardState{Term: 1, Commit: 2})
	c.apply(0, &log[1])
	wantOnly(t, c, StateMachineSafety)
}

func TestCheckerCommitAgreement(t *testing.T) {
	c := newTestChecker(3)
	replicate(c, []int{0, 1}, []raft.Entry{ent(1, 1, ""), ent(2, 2, "a")}, raft.HardState{Term: 2, Commit: 2})
	replicate(c, []int{2}, []raft.Entry{ent(1, 1, ""), ent(2, 3, "z")}, raft.HardState{Term: 3, Commit: 2})
	wantOnly(t, c, CommitAgreement)
}

func TestCheckerLogMatching(t *testing.T) {
	c := newTestChecker(3)
	// Same entry at (2, term 2), different logs before it.
	c.ready(0, &raft.Ready{Entries: []raft.Entry{ent(1, 1, "a"), ent(2, 2, "b")}}, nil)
	c.ready(1, &raft.Ready{Entries: []raft.Entry{ent(1, 2, "x"), ent(2, 2, "b")}}, nil)
	wantOnly(t, c, LogMatching)
	if !strings.Contains(c.violations[0].Detail, "entry 2 of term 2") {
		t.Fatalf("detail %q", c.violations[0].Detail)
	}
}

func TestCheckerLeaderCompleteness(t *testing.T) {
	c := newTestChecker(3)
	log := []raft.Entry{ent(1, 1, ""), ent(2, 2, "a")}
	replicate(c, []int{0, 1}, log, raft.HardState{Term: 2, Commit: 2})
	// n3 never got entry 2 and leads term 3.
	c.ready(2, &raft.Ready{Entries: log[:1]}, leaderStatus(3, 1, 1))
	wantOnly(t, c, LeaderCompleteness)

	// A leader of an earlier term need not hold it, but one already in
	// office for a later term is checked when the commit is observed.
	c = newTestChecker(3)
	c.ready(2, &raft.Ready{Entries: log[:1]}, leaderStatus(5, 1, 1))
	replicate(c, []int{0, 1}, log, raft.HardState{Term: 2, Commit: 2})
	wantOnly(t, c, LeaderCompleteness)
}

func TestCheckerCommittedNotDurable(t *testing.T) {
	c := newTestChecker(3)
	log := []raft.Entry{ent(1, 1, ""), ent(2, 2, "a")}
	c.ready(0, &raft.Ready{Entries: log, HardState: raft.HardState{Term: 2, Commit: 2}}, nil)
	wantOnly(t, c, CommittedDurable)
}

func TestCheckerDoubleVote(t *testing.T) {
	c := newTestChecker(3)
	c.sent(0, &raft.Message{Type: raft.MsgVoteResp, From: 1, To: 2, Term: 4}, raft.HardState{Term: 4, Vote: 2})
	c.sent(0, &raft.Message{Type: raft.MsgVoteResp, From: 1, To: 3, Term: 4}, raft.HardState{Term: 4, Vote: 3})
	wantOnly(t, c, VoteSafety)
}

func TestCheckerVoteNotPersisted(t *testing.T) {
	c := newTestChecker(3)
	c.sent(0, &raft.Message{Type: raft.MsgVoteResp, From: 1, To: 2, Term: 4}, raft.HardState{Term: 4})
	c.sent(1, &raft.Message{Type: raft.MsgVote, From: 2, To: 1, Term: 5}, raft.HardState{Term: 4, Vote: 2})
	c.sent(2, &raft.Message{Type: raft.MsgAppResp, From: 3, To: 1, Term: 4, Index: 7}, raft.HardState{Term: 4})
	wantOnly(t, c, VoteSafety, PersistBeforeSend, PersistBeforeSend)
}
