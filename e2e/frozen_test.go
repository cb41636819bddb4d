//go:build !js

package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tabraft/tabraft/internal/browsertest"
)

// frozenDeadMs is TestFrozenTab's dead timeout (join's deadTimeoutMs).
const frozenDeadMs = 2000

// TestFrozenTab freezes tabs as Chromium freezes a background tab to save
// power (Page.setWebLifecycleState): none of the page's tasks run, so its
// member is silent, as if crashed, though its connections stay up. Three
// tabs write without pause. A follower frozen longer than the dead timeout
// is removed while the others go on writing; thawed, it rejoins the
// cluster and writes again. Then the leader's tab is frozen (Chromium
// hides a page before it freezes it, so the hidden-tab policy hands
// leadership over first, as it would in a background tab long before it
// froze): another member leads in a later term; thawed, the old leader
// follows it, and the three are voters again. Every acknowledged write is in every tab's board
// at the end, and their hashes agree.
func TestFrozenTab(t *testing.T) {
	g := newWriterGroup(t, "frozen", frozenDeadMs)
	tabs := []*churnTab{g.openTab(false), g.openTab(false), g.openTab(false)}
	threeVoters := func(what string) *churnTab {
		t.Helper()
		var leader *churnTab
		browsertest.WaitFor(t, formTimeout, what, func() (bool, error) {
			l, s, err := g.leader()
			if err == nil && (len(s.Voters) != 3 || len(s.Learners) != 0) {
				err = fmt.Errorf("voters %v, learners %v (%s)", s.Voters, s.Learners, s.Note)
			}
			leader = l
			return err == nil, err
		})
		return leader
	}
	// acked returns how many writes c's writer has had acknowledged.
	acked := func(c *churnTab) int {
		t.Helper()
		a, err := browsertest.EvalErr[acks](c.tab, acksJS)
		if err != nil {
			t.Fatalf("%s: %v", c.tab.Name, err)
		}
		return len(a.Acked)
	}
	// writesGoOn waits until each of cs has had more writes acknowledged.
	writesGoOn := func(what string, cs ...*churnTab) {
		t.Helper()
		before := make([]int, len(cs))
		for i, c := range cs {
			before[i] = acked(c)
		}
		for i, c := range cs {
			browsertest.WaitFor(t, agreeTimeout, what+": "+c.tab.Name+" writes", func() (bool, error) {
				return acked(c) > before[i]+5, nil
			})
		}
	}
	others := func(not *churnTab) []*churnTab {
		return slices.DeleteFunc(slices.Clone(tabs), func(c *churnTab) bool { return c == not })
	}
	freeze := func(c *churnTab) {
		t.Helper()
		if err := c.tab.Freeze(); err != nil {
			t.Fatal(err)
		}
	}
	thaw := func(c *churnTab) {
		t.Helper()
		if err := c.tab.Thaw(); err != nil {
			t.Fatal(err)
		}
	}

	leader := threeVoters("three voters")
	follower := others(leader)[0]

	// A follower frozen past the dead timeout is removed.
	t.Logf("freezing %s, a follower", follower.tab.Name)
	freeze(follower)
	frozenAt := time.Now()
	browsertest.WaitFor(t, formTimeout, "the frozen follower is removed", func() (bool, error) {
		_, s, err := g.leader()
		if err == nil && (slices.Contains(s.Voters, follower.id) || slices.Contains(s.Learners, follower.id)) {
			err = fmt.Errorf("voters %v, learners %v", s.Voters, s.Learners)
		}
		return err == nil, err
	})
	t.Logf("removed %s after it was frozen", time.Since(frozenAt).Round(time.Millisecond))
	writesGoOn("with a follower frozen", others(follower)...)
	thaw(follower)
	thawedAt := time.Now()
	threeVoters("the thawed follower is a voter again")
	t.Logf("the thawed follower was a voter again %s after it was thawed", time.Since(thawedAt).Round(time.Millisecond))
	writesGoOn("after the follower thawed", tabs...)

	// A frozen leader is replaced; thawed, it follows.
	leader, before, err := g.leader()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("freezing %s, the leader in term %d", leader.tab.Name, before.Term)
	freeze(leader)
	frozenAt = time.Now()
	var after status
	browsertest.WaitFor(t, leadTimeout+time.Duration(frozenDeadMs)*time.Millisecond, "another member leads", func() (bool, error) {
		for _, c := range others(leader) {
			s, err := browsertest.EvalErr[status](c.tab, `m.status()`)
			if err != nil {
				return false, err
			}
			if s.Role == "leader" {
				after = s
				return true, nil
			}
		}
		return false, fmt.Errorf("neither of the others leads")
	})
	t.Logf("member %s led in term %d, %s after the leader was frozen", after.ID, after.Term, time.Since(frozenAt).Round(time.Millisecond))
	if after.Term <= before.Term {
		t.Errorf("the new leader's term %d is not after the frozen leader's %d", after.Term, before.Term)
	}
	writesGoOn("with the leader frozen", others(leader)...)
	thaw(leader)
	threeVoters("the thawed leader is a voter again")
	browsertest.WaitFor(t, agreeTimeout, "the thawed leader follows", func() (bool, error) {
		s, err := browsertest.EvalErr[status](leader.tab, `m.status()`)
		if err == nil && (s.Role != "follower" || s.Term < after.Term) {
			err = fmt.Errorf("%s is %s in term %d", leader.tab.Name, s.Role, s.Term)
		}
		return err == nil, err
	})
	writesGoOn("after the leader thawed", tabs...)
	g.finish()
}
