//go:build !js

package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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
// leader's configuration never has more than five voters; every key
// acknowledged in any tab is in the board every remaining tab reads
// (linearizably) at the end, and they all end with the same hash. It logs
// the longest stall: the longest time with no write acknowledged anywhere.
func TestTabChurn(t *testing.T) {
	browsertest.Require(t)
	srv := browsertest.StartServer(t, browsertest.Build(t))
	br := browsertest.NewBrowser(t, browsertest.ThrottlingOn()...)
	room := fmt.Sprintf("churn-%08x", rand.Uint32())
	rng := rand.New(rand.NewPCG(churnSeed, 0))
	start := time.Now()

	var mu sync.Mutex // guards open and allAcks
	var open []*churnTab
	allAcks := map[string]int64{}
	collect := func(c *churnTab) {
		a, err := browsertest.EvalErr[acks](c.tab, acksJS)
		if err != nil {
			t.Errorf("%s: reading its acknowledged writes: %v", c.tab.Name, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, kv := range a.Acked {
			key, _ := kv[0].(string)
			at, _ := kv[1].(float64)
			allAcks[key] = int64(at)
		}
	}
	openTab := func(hidden bool) *churnTab {
		tab := br.Open(t, srv.URL+"/healthz")
		id := browsertest.Eval[string](t, tab, fmt.Sprintf(churnJoinJS, room, churnDeadMs))
		tab.Name = "tab of member " + id
		c := &churnTab{tab: tab, id: id, hidden: hidden}
		mu.Lock()
		open = append(open, c)
		mu.Unlock()
		return c
	}

	// The voters of whichever open tab leads, polled all along.
	maxVoters, overTarget := 0, 0
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
			mu.Lock()
			tabs := slices.Clone(open)
			mu.Unlock()
			for _, c := range tabs {
				s, err := browsertest.EvalErr[status](c.tab, `m.status()`)
				if err == nil && s.Role == "leader" {
					mu.Lock()
					// status().voters is the union of both halves of a
					// joint configuration: while the autopilot replaces
					// a dead voter by a learner it lists one voter more
					// than either half has. Status has no way to tell a
					// joint configuration apart (its note may be about
					// the silent voter), so the bound checked here is
					// one more than the target, and the settled
					// configuration is checked against the target below.
					maxVoters = max(maxVoters, len(s.Voters))
					if len(s.Voters) > churnMaxVoters {
						overTarget++
					}
					if len(s.Voters) > churnMaxVoters+1 {
						tooMany = append(tooMany, fmt.Sprintf("%v (%s)", s.Voters, s.Note))
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
	mu.Lock()
	hidden.hidden = true
	mu.Unlock()
	if err := hidden.tab.Minimize(); err != nil {
		t.Fatalf("hiding %s: %v", hidden.tab.Name, err)
	}
	hiddenAt := time.Now()
	browsertest.WaitFor(t, leadTimeout, "the hidden leader hands over", func() (bool, error) {
		s, err := browsertest.EvalErr[status](open[1].tab, `m.status()`)
		if err == nil && (s.Leader == "" || s.Leader == hidden.id) {
			err = fmt.Errorf("%s follows %q", open[1].tab.Name, s.Leader)
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
	for len(open) < churnTabs {
		openTab(false)
	}

	// leaderConfig returns the voters and learners of the open tab that
	// leads.
	leaderConfig := func() ([]string, error) {
		mu.Lock()
		tabs := slices.Clone(open)
		mu.Unlock()
		for _, c := range tabs {
			s, err := browsertest.EvalErr[status](c.tab, `m.status()`)
			if err != nil {
				return nil, err
			}
			if s.Role == "leader" {
				return append(s.Voters, s.Learners...), nil
			}
		}
		return nil, fmt.Errorf("no open tab leads")
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
		mu.Lock()
		var cands []int
		for i, c := range open {
			if !c.hidden {
				cands = append(cands, i)
			}
		}
		i := cands[rng.IntN(len(cands))]
		c := open[i]
		open = slices.Delete(open, i, i+1)
		mu.Unlock()
		collect(c)
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
		mu.Lock()
		tabs := slices.Clone(open)
		mu.Unlock()
		for _, c := range tabs {
			s, err := browsertest.EvalErr[status](c.tab, `m.status()`)
			if err != nil {
				return false, err
			}
			if s.Role == "leader" {
				n := len(s.Voters)
				if n%2 == 0 || n > churnMaxVoters {
					return false, fmt.Errorf("the leader has voters %v (%s)", s.Voters, s.Note)
				}
				t.Logf("settled: voters %v, learners %v", s.Voters, s.Learners)
				return true, nil
			}
		}
		return false, fmt.Errorf("no open tab leads")
	})

	// Stop the writers, gather what they acknowledged.
	mu.Lock()
	final := slices.Clone(open)
	mu.Unlock()
	for _, c := range final {
		browsertest.Do(t, c.tab, `(window.stopWriter = true, window.writer)`)
		collect(c)
	}
	close(done)
	poller.Wait()
	done = make(chan struct{}) // for the deferred close

	mu.Lock()
	t.Logf("%d steps (%d crashes) in %s; the leader listed at most %d voters (%d samples above %d: status lists both halves of a joint configuration); %d writes acknowledged",
		churnSteps, crashes, time.Since(start).Round(time.Millisecond), maxVoters, overTarget, churnMaxVoters, len(allAcks))
	if len(tooMany) > 0 {
		t.Errorf("the leader listed more than %d voters: %v", churnMaxVoters+1, tooMany)
	}
	times := make([]int64, 0, len(allAcks))
	for _, at := range allAcks {
		times = append(times, at)
	}
	mu.Unlock()
	slices.Sort(times)
	var stall int64
	for i := 1; i < len(times); i++ {
		stall = max(stall, times[i]-times[i-1])
	}
	t.Logf("longest write stall: %d ms (between consecutive acknowledged writes across the cluster)", stall)

	// Every tab reads the whole board linearizably, and it holds every
	// acknowledged key; the hashes agree.
	for _, c := range final {
		// A read may fail while leadership moves (ErrLeaderChanged, a
		// timeout): it is retried, and the failures are reported.
		var board map[string]string
		browsertest.WaitFor(t, agreeTimeout, c.tab.Name+" reads the board", func() (bool, error) {
			var err error
			board, err = browsertest.EvalErr[map[string]string](c.tab, `m.read()`)
			if err != nil {
				t.Logf("%s: read failed, retrying: %v", c.tab.Name, err)
			}
			return err == nil, err
		})
		var lost []string
		for key := range allAcks {
			if _, ok := board[key]; !ok {
				lost = append(lost, key)
			}
		}
		if len(lost) > 0 {
			slices.Sort(lost)
			t.Errorf("%s: %d acknowledged writes missing from its board, e.g. %s", c.tab.Name, len(lost), strings.Join(lost[:min(5, len(lost))], ", "))
		}
	}
	browsertest.WaitFor(t, agreeTimeout, "every remaining tab has the same hash", func() (bool, error) {
		var h0 string
		for i, c := range final {
			s, err := browsertest.EvalErr[status](c.tab, `m.status()`)
			if err != nil {
				return false, err
			}
			if i == 0 {
				h0 = s.Hash
			} else if s.Hash != h0 {
				return false, fmt.Errorf("%s has hash %s, %s %s", c.tab.Name, s.Hash, final[0].tab.Name, h0)
			}
		}
		return true, nil
	})
}
