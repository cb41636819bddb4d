//go:build !js

package e2e

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tabraft/tabraft/internal/browsertest"
)

// Parameters of TestTabChurn.
const (
	churnTabs      = 6    // tabs open at once, the hidden one included
	churnSteps     = 30   // tabs closed and replaced
	churnDeadMs    = 2000 // join's deadTimeoutMs
	churnMaxVoters = 5    // join's default targetVoters
	churnSeed      = 7
)

// churnJoinJS loads tabraft.js into a page of the server, joins room with
// a short dead timeout and in-memory storage (a closed tab never comes
// back), and starts a writer: every 20–50 ms it proposes a key of its own
// and records each acknowledged one with the time (ms) it was.
const churnJoinJS = `(async () => {
	const { loadTabraft } = await import("/tabraft.js");
	const tabraft = await loadTabraft();
	const m = await tabraft.join({ room: %q, persist: false, deadTimeoutMs: %d });
	window.m = m;
	window.acked = [];
	window.failed = 0;
	window.stopWriter = false;
	window.writer = (async () => {
		for (let n = 0; !window.stopWriter; n++) {
			const key = m.id + "-" + n;
			try {
				await m.propose({ op: "set", key, val: "x" });
				window.acked.push([key, Date.now()]);
			} catch (e) {
				window.failed++;
			}
			await new Promise(r => setTimeout(r, 20 + Math.random() * 30));
		}
	})();
	return m.id;
})()`

// churnTab is one open tab of TestTabChurn.
type churnTab struct {
	tab    *browsertest.Tab
	id     string
	hidden bool
}

// acks is what a tab's writer recorded: keys and when they were
// acknowledged (ms since the epoch).
type acks struct {
	Acked  [][2]any
	Failed int
}

const acksJS = `({acked: window.acked || [], failed: window.failed || 0})`

// TestTabChurn opens six tabs in one Chromium with background throttling
// on, one of them kept hidden (its window minimized), and 30 times closes
// one of the others (by pagehide, or by crashing its renderer) and opens a
// new one, while every open tab writes keys of its own without pause. The
// leader's configuration (each half of a joint one) never has more than
// five voters; every key acknowledged in any tab is in the board every
// remaining tab reads (linearizably) at the end, and they all end with the
// same hash. It logs
// the longest stall: the longest time with no write acknowledged anywhere.
func TestTabChurn(t *testing.T) {
	g := newWriterGroup(t, "churn", churnDeadMs, browsertest.ThrottlingOn()...)
	rng := rand.New(rand.NewPCG(churnSeed, 0))
	start := time.Now()
	openTab := g.openTab

	// The voters of whichever open tab leads, polled all along.
	var mu sync.Mutex // guards the samples
	maxVoters, joints := 0, 0
	var tooMany []string
	done := make(chan struct{})
	var poller sync.WaitGroup
	poller.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for _, c := range g.tabs() {
				s, err := browsertest.EvalErr[status](c.tab, `m.status()`)
				if err == nil && s.Role == "leader" {
					mu.Lock()
					// Each configuration, and each half of a joint one
					// (status().voters is then their union), has at most
					// the target of voters.
					halves := [][]string{s.Voters}
					if s.Joint != nil {
						halves = [][]string{s.Joint.Outgoing, s.Joint.Incoming}
						joints++
					}
					for _, h := range halves {
						maxVoters = max(maxVoters, len(h))
						if len(h) > churnMaxVoters {
							tooMany = append(tooMany, fmt.Sprintf("%v (joint %v; %s)", h, s.Joint != nil, s.Note))
						}
					}
					mu.Unlock()
				}
			}
		}
	})
	defer func() {
		close(done)
		poller.Wait()
	}()

	first := openTab(false)
	browsertest.WaitFor(t, formTimeout, "the first member leads", func() (bool, error) {
		s, err := browsertest.EvalErr[status](first.tab, `m.status()`)
		return s.Role == "leader", err
	})
	// The founder leads; once there are three voters, its window is
	// minimized: it hands leadership over (wasm's hidden-tab policy) and
	// stays open and hidden for the rest of the test.
	openTab(false)
	openTab(false)
	browsertest.WaitFor(t, formTimeout, "three voters", func() (bool, error) {
		s, err := browsertest.EvalErr[status](first.tab, `m.status()`)
		if err == nil && len(s.Voters) != 3 {
			err = fmt.Errorf("voters %v, learners %v", s.Voters, s.Learners)
		}
		return err == nil, err
	})
	hidden := first
	g.mu.Lock()
	hidden.hidden = true
	g.mu.Unlock()
	if err := hidden.tab.Minimize(); err != nil {
		t.Fatalf("hiding %s: %v", hidden.tab.Name, err)
	}
	hiddenAt := time.Now()
	browsertest.WaitFor(t, leadTimeout, "the hidden leader hands over", func() (bool, error) {
		other := g.tabs()[1]
		s, err := browsertest.EvalErr[status](other.tab, `m.status()`)
		if err == nil && (s.Leader == "" || s.Leader == hidden.id) {
			err = fmt.Errorf("%s follows %q", other.tab.Name, s.Leader)
		}
		return err == nil, err
	})
	t.Logf("the leader's tab hidden, another member led %s later", time.Since(hiddenAt).Round(time.Millisecond))
	checkHidden := func() {
		t.Helper()
		if v := browsertest.Eval[string](t, hidden.tab, `document.visibilityState`); v != "hidden" {
			t.Fatalf("%s is %s, not hidden", hidden.tab.Name, v)
		}
	}
	checkHidden()
	// Throttling is on: a 10 ms timer of the hidden tab fires late.
	late := browsertest.Eval[float64](t, hidden.tab, `(async () => {
		let worst = 0;
		for (let i = 0; i < 5; i++) {
			const t0 = performance.now();
			await new Promise(r => setTimeout(r, 10));
			worst = Math.max(worst, performance.now() - t0);
		}
		return worst;
	})()`)
	t.Logf("%s is hidden; its 10 ms timers fired after up to %.0f ms", hidden.tab.Name, late)
	for len(g.tabs()) < churnTabs {
		openTab(false)
	}

	// leaderConfig returns the voters and learners of the open tab that
	// leads.
	leaderConfig := func() ([]string, error) {
		_, s, err := g.leader()
		return append(s.Voters, s.Learners...), err
	}
	// settled waits until the leader's configuration holds at most left
	// closed members: with one left, closing one more leaves a majority
	// of five voters (and of each half of a joint configuration) alive.
	settled := func(closed map[string]bool, left int) {
		t.Helper()
		browsertest.WaitFor(t, formTimeout, "the closed members are removed", func() (bool, error) {
			cfg, err := leaderConfig()
			if err != nil {
				return false, err
			}
			var in []string
			for _, id := range cfg {
				if closed[id] {
					in = append(in, id)
				}
			}
			if len(in) > left {
				return false, fmt.Errorf("members %v, closed, are still in the configuration %v", in, cfg)
			}
			return true, nil
		})
	}

	closed := map[string]bool{}
	crashes := 0
	for step := range churnSteps {
		settled(closed, 1)
		var cands []*churnTab
		for _, c := range g.tabs() {
			if !c.hidden {
				cands = append(cands, c)
			}
		}
		c := cands[rng.IntN(len(cands))]
		g.remove(c)
		crash := rng.IntN(3) == 0
		if crash {
			crashes++
			if err := c.tab.Crash(); err != nil {
				t.Errorf("step %d: crashing %s: %v", step, c.tab.Name, err)
			}
		} else {
			c.tab.Close()
		}
		closed[c.id] = true
		openTab(false)
	}
	checkHidden()
	settled(closed, 0)
	browsertest.WaitFor(t, formTimeout, fmt.Sprintf("an odd number of voters, at most %d", churnMaxVoters), func() (bool, error) {
		_, s, err := g.leader()
		if err != nil {
			return false, err
		}
		if n := len(s.Voters); n%2 == 0 || n > churnMaxVoters {
			return false, fmt.Errorf("the leader has voters %v (%s)", s.Voters, s.Note)
		}
		t.Logf("settled: voters %v, learners %v", s.Voters, s.Learners)
		return true, nil
	})

	close(done)
	poller.Wait()
	done = make(chan struct{}) // for the deferred close
	mu.Lock()
	t.Logf("%d steps (%d crashes) in %s; the leader's configurations had at most %d voters (%d samples of a joint configuration, each half counted)",
		churnSteps, crashes, time.Since(start).Round(time.Millisecond), maxVoters, joints)
	if len(tooMany) > 0 {
		t.Errorf("a configuration of the leader had more than %d voters: %v", churnMaxVoters, tooMany)
	}
	mu.Unlock()
	g.finish()
}
