//go:build !js

package e2e

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tabraft/tabraft/internal/browsertest"
)

// writerGroup is a room of tabs that each write keys of their own without
// pause (churnJoinJS), in one Chromium, and what they acknowledged: the
// tabs of TestTabChurn and TestFrozenTab.
type writerGroup struct {
	t      *testing.T
	srv    *browsertest.Server
	br     *browsertest.Browser
	room   string
	deadMs int

	mu   sync.Mutex // guards open and acks
	open []*churnTab
	acks map[string]int64 // key → when it was acknowledged (ms since the epoch)
}

func newWriterGroup(t *testing.T, name string, deadMs int, opts ...chromedp.ExecAllocatorOption) *writerGroup {
	t.Helper()
	browsertest.Require(t)
	return &writerGroup{
		t:      t,
		srv:    browsertest.StartServer(t, browsertest.Build(t)),
		br:     browsertest.NewBrowser(t, opts...),
		room:   fmt.Sprintf("%s-%08x", name, rand.Uint32()),
		deadMs: deadMs,
		acks:   map[string]int64{},
	}
}

// openTab opens a tab that joins the room and starts writing.
func (g *writerGroup) openTab(hidden bool) *churnTab {
	g.t.Helper()
	tab := g.br.Open(g.t, g.srv.URL+"/healthz")
	id := browsertest.Eval[string](g.t, tab, fmt.Sprintf(churnJoinJS, g.room, g.deadMs))
	tab.Name = "tab of member " + id
	c := &churnTab{tab: tab, id: id, hidden: hidden}
	g.mu.Lock()
	g.open = append(g.open, c)
	g.mu.Unlock()
	return c
}

// tabs returns the open tabs.
func (g *writerGroup) tabs() []*churnTab {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.open)
}

// remove takes c out of the open tabs, keeping what it acknowledged; the
// caller closes or crashes it.
func (g *writerGroup) remove(c *churnTab) {
	g.collect(c)
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.open, c); i >= 0 {
		g.open = slices.Delete(g.open, i, i+1)
	}
}

// collect records the writes c's writer acknowledged so far.
func (g *writerGroup) collect(c *churnTab) {
	a, err := browsertest.EvalErr[acks](c.tab, acksJS)
	if err != nil {
		g.t.Errorf("%s: reading its acknowledged writes: %v", c.tab.Name, err)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, kv := range a.Acked {
		key, _ := kv[0].(string)
		at, _ := kv[1].(float64)
		g.acks[key] = int64(at)
	}
}

// leader returns the open tab that leads and its status.
func (g *writerGroup) leader() (*churnTab, status, error) {
	for _, c := range g.tabs() {
		s, err := browsertest.EvalErr[status](c.tab, `m.status()`)
		if err != nil {
			return nil, status{}, err
		}
		if s.Role == "leader" {
			return c, s, nil
		}
	}
	return nil, status{}, fmt.Errorf("no open tab leads")
}

// finish stops the writers and checks the outcome: every key acknowledged
// in any tab is in the board every open tab reads (linearizably), and the
// open tabs end with the same hash. It logs the longest write stall: the
// longest time with no write acknowledged anywhere.
func (g *writerGroup) finish() {
	t := g.t
	t.Helper()
	final := g.tabs()
	for _, c := range final {
		browsertest.Do(t, c.tab, `(window.stopWriter = true, window.writer)`)
		g.collect(c)
	}
	g.mu.Lock()
	times := make([]int64, 0, len(g.acks))
	for _, at := range g.acks {
		times = append(times, at)
	}
	acked := slices.Collect(maps.Keys(g.acks))
	g.mu.Unlock()
	slices.Sort(times)
	var stall int64
	for i := 1; i < len(times); i++ {
		stall = max(stall, times[i]-times[i-1])
	}
	t.Logf("%d writes acknowledged; longest write stall: %d ms (between consecutive acknowledged writes across the cluster)", len(times), stall)

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
		for _, key := range acked {
			if _, ok := board[key]; !ok {
				lost = append(lost, key)
			}
		}
		if len(lost) > 0 {
			slices.Sort(lost)
			t.Errorf("%s: %d acknowledged writes missing from its board, e.g. %s", c.tab.Name, len(lost), strings.Join(lost[:min(5, len(lost))], ", "))
		}
	}
	browsertest.WaitFor(t, agreeTimeout, "every open tab has the same hash", func() (bool, error) {
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
