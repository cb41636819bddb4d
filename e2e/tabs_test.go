//go:build !js

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tabraft/tabraft/internal/browsertest"
)

// TestThreeTabs opens the demo in three tabs: they form one cluster of
// three voters; 50 writes from every tab at once are each applied once,
// and every tab ends with the same cells, painted on its board, and the
// same hash in its status and on its page. It leaves a screenshot of the
// demo in out/e2e/demo.png.
func TestThreeTabs(t *testing.T) {
	c := newCluster(t)
	ms := c.openN(3)
	leader, _ := c.waitFormed(ms)
	writes := make([][]kv, len(ms))
	for i := range ms {
		writes[i] = cellsOf(i, 0, 50)
	}
	board := c.writeAll(ms, writes, nil)
	c.waitAgree(ms, board)
	c.screenshot(ms, leader)
}

// screenshot saves a PNG of the page of tab of to out/e2e/demo.png, once
// every tab's cluster view shows the voters ms.
func (c *cluster) screenshot(ms []*member, of *member) {
	c.t.Helper()
	for _, m := range ms {
		browsertest.WaitFor(c.t, agreeTimeout, m.tab.Name+" shows the voters in its cluster view", func() (bool, error) {
			n, err := browsertest.EvalErr[int](m.tab, `document.querySelectorAll('#members > [data-kind="voter"]').length`)
			if err == nil && n != len(ms) {
				err = fmt.Errorf("%d voter cards", n)
			}
			return err == nil, err
		})
	}
	png, err := of.tab.Screenshot()
	if err != nil {
		c.t.Fatalf("screenshot: %v", err)
	}
	root, err := browsertest.ModuleRoot()
	if err != nil {
		c.t.Fatal(err)
	}
	dir := filepath.Join(root, "out", "e2e")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	path := filepath.Join(dir, "demo.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.t.Logf("screenshot of the demo (%d bytes): %s", len(png), path)
}

// TestLeaderTabClosed closes the leader's tab (the page gets pagehide, and
// its member leaves): the two other tabs agree on a new leader among them,
// in a later term, and writes from both go on; they end with the same
// board.
func TestLeaderTabClosed(t *testing.T) {
	c := newCluster(t)
	ms := c.openN(3)
	leader, before := c.waitFormed(ms)
	writes := make([][]kv, len(ms))
	for i := range ms {
		writes[i] = cellsOf(i, 0, 20)
	}
	board := c.writeAll(ms, writes, nil)
	c.waitAgree(ms, board)

	var rest []*member
	for _, m := range ms {
		if m != leader {
			rest = append(rest, m)
		}
	}
	t.Logf("closing the leader's tab (member %s, term %d)", leader.id, before.Term)
	leader.tab.Close()
	_, after := c.waitLeader(rest, leader.id)
	if after.Term <= before.Term {
		t.Errorf("new leader %s in term %d, the closed one led in term %d", after.ID, after.Term, before.Term)
	}
	t.Logf("member %s leads in term %d", after.ID, after.Term)

	writes = writes[:len(rest)]
	for i := range rest {
		writes[i] = cellsOf(i, 6, 20)
	}
	board = c.writeAll(rest, writes, board)
	c.waitAgree(rest, board)
}

// TestReload reloads a follower's tab: the page comes back as the same
// member (its id is in sessionStorage) with its state (its log is in
// IndexedDB): cut off from the cluster right after it joined again, it
// has its whole log and applies what it knew committed. Reconnected, it is
// a voter again, and
// writes from every tab, the reloaded one included, end equal everywhere.
func TestReload(t *testing.T) {
	c := newCluster(t)
	ms := c.openN(3)
	leader, _ := c.waitFormed(ms)
	writes := make([][]kv, len(ms))
	for i := range ms {
		writes[i] = cellsOf(i, 0, 30)
	}
	board := c.writeAll(ms, writes, nil)
	hash := c.waitAgree(ms, board)

	f := ms[0]
	if f == leader {
		f = ms[1]
	}
	before, err := statusOf(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reloading %s (applied %d, board version %d)", f.tab.Name, before.Applied, before.Version)
	if err := f.tab.Reload(); err != nil {
		t.Fatalf("reloading %s: %v", f.tab.Name, err)
	}
	// The member is cut off in the first microtask after join resolved: no
	// data channel can be open yet (that takes signaling round trips), so
	// whatever it applies from now on comes from its own storage.
	id := browsertest.Eval[string](t, f.tab, `(async () => {
		while (!window.tabraftReady) await new Promise(r => setTimeout(r, 20));
		const m = await window.tabraftReady;
		m.disconnect();
		return m.id;
	})()`)
	if id != f.id {
		t.Fatalf("the reloaded tab came back as member %s, not %s", id, f.id)
	}
	// Its log comes back whole. The commit index it stored may lag: a Save
	// that only moves it is deferred to the next write (idbstore), so it
	// applies the board up to there and learns the rest from the leader.
	browsertest.WaitFor(t, agreeTimeout, "the reloaded member, cut off, restores its log and applies what it knew committed", func() (bool, error) {
		s, err := statusOf(f)
		switch {
		case err != nil:
			return false, err
		case !s.Disconnected:
			t.Fatalf("%s is not disconnected", f.tab.Name)
		case s.LastIndex != before.LastIndex:
			return false, fmt.Errorf("%s has log entries up to %d, before the reload %d", f.tab.Name, s.LastIndex, before.LastIndex)
		case s.Commit == 0 || s.Applied < s.Commit:
			return false, fmt.Errorf("%s applied %d of %d committed entries", f.tab.Name, s.Applied, s.Commit)
		case s.Version > before.Version || s.Version == before.Version && s.Hash != hash:
			t.Fatalf("%s, cut off, has board version %d hash %s; before the reload: version %d hash %s", f.tab.Name, s.Version, s.Hash, before.Version, hash)
		}
		t.Logf("cut off after the reload, %s has its log up to %d from IndexedDB and applied the %d entries it knew committed: board version %d of %d",
			f.tab.Name, s.LastIndex, s.Applied, s.Version, before.Version)
		return true, nil
	})
	if s, err := statusOf(leader); err == nil {
		t.Logf("the leader's configuration: voters %v, learners %v", s.Voters, s.Learners)
	}
	browsertest.Do(t, f.tab, `tabraftMember.reconnect()`)
	reconnected := time.Now()
	c.waitFormed(ms)
	t.Logf("%s is a voter again %s after it reconnected", f.tab.Name, time.Since(reconnected).Round(time.Millisecond))

	for i := range ms {
		writes[i] = cellsOf(i, 6, 20)
	}
	board = c.writeAll(ms, writes, board)
	c.waitAgree(ms, board)
}
