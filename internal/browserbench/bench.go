//go:build !js

// Package browserbench measures tabraft in real browser tabs: several tabs
// of one headless Chromium, members of one room of the real tabraft-signal
// binary, talking over WebRTC data channels, each keeping its log in
// IndexedDB. It measures
//
//   - throughput: committed writes per second when every tab proposes
//     batches of fixed-size ops (proposeBatch) with several batches in
//     flight, and the commit latency of each op (from the proposeBatch call
//     to its resolution in the page);
//   - failover: the time from closing the leader's tab to the first write
//     committed under a new leader, seen by a tab that proposes in a tight
//     loop; a new tab then replaces the closed one before the next trial.
//
// cmd/tabraft-bench is its command line.
package browserbench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tabraft/tabraft/internal/browsertest"
)

// Config is what to measure.
type Config struct {
	// Tabs is the number of member tabs (at least 3 for failover).
	Tabs int
	// Duration is how long the throughput run lasts (after Warmup).
	Duration time.Duration
	// Warmup is a throughput run whose results are dropped.
	Warmup time.Duration
	// Batch is the number of ops per proposeBatch call.
	Batch int
	// Concurrency is the number of batches in flight per tab.
	Concurrency int
	// OpSize is the size of one op as the state machine gets it (its JSON).
	OpSize int
	// Trials is the number of failover trials (0: none).
	Trials int
	// Failover is how the leader's tab goes: "close" (the page gets
	// pagehide, and a leading member hands over) or "crash" (the renderer is killed).
	Failover string
	// Demo runs the demo page in the tabs (its rendering and status polls
	// included) rather than a bare page holding only the member.
	Demo bool
	// Profile, if set, takes a CPU profile of the leader's tab during the
	// throughput run and reports its heaviest functions.
	Profile bool
	// ProfileTop is how many functions each list of a profile shows
	// (default 15).
	ProfileTop int
	// ProfileDir, if set, receives each tab's whole profile, in Chrome's
	// .cpuprofile format (<member id>.cpuprofile: DevTools opens it).
	ProfileDir string
	// ConsoleDir, if set, receives each tab's console (<member id>.log) when
	// the tab closes or the run ends.
	ConsoleDir string
	// Logger receives progress.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultTabs        = 3
	DefaultDuration    = 5 * time.Second
	DefaultWarmup      = time.Second
	DefaultBatch       = 128
	DefaultConcurrency = 4
	DefaultOpSize      = 128
	DefaultTrials      = 20
	DefaultProfileTop  = 15
)

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	if c.Tabs < 1 {
		errs = append(errs, errors.New("tabs must be at least 1"))
	}
	if c.Trials > 0 && c.Tabs < 3 {
		errs = append(errs, errors.New("failover trials need at least 3 tabs"))
	}
	if c.Duration < 0 || c.Warmup < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if c.Duration > 0 && (c.Batch < 1 || c.Concurrency < 1) {
		errs = append(errs, errors.New("batch and concurrency must be at least 1"))
	}
	if c.Duration > 0 && (c.OpSize < 64 || c.OpSize > 4096) {
		errs = append(errs, errors.New("op size must be 64 to 4096 bytes"))
	}
	if c.ProfileTop < 0 {
		errs = append(errs, errors.New("profile top must not be negative"))
	}
	if c.Trials < 0 {
		errs = append(errs, errors.New("trials must not be negative"))
	}
	if c.Failover != "close" && c.Failover != "crash" {
		errs = append(errs, fmt.Errorf("failover %q: want close or crash", c.Failover))
	}
	return errors.Join(errs...)
}

// Run builds tabraft, starts the server and the browser, runs the
// measurements c asks for and stops everything.
func Run(ctx context.Context, c Config) (*Report, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp("", "tabraft-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	log.Info("building the wasm member and the signaling server")
	art, err := browsertest.BuildIn(dir, browsertest.BuildOptions{KeepSymbols: c.Profile})
	if err != nil {
		return nil, err
	}
	srv, stopSrv, err := browsertest.Launch(art)
	if err != nil {
		return nil, err
	}
	defer stopSrv()
	profileDir := filepath.Join(dir, "profile")
	br, closeBr, err := browsertest.LaunchBrowser(profileDir, chromedp.WindowSize(1280, 1000))
	if err != nil {
		return nil, err
	}
	defer closeBr()
	b := &bench{cfg: c, log: log, srv: srv, br: br, profileDir: profileDir, room: fmt.Sprintf("bench-%08x", rand.Uint32())}
	defer b.closeAll()
	rep := &Report{Config: c.summary()}
	for range c.Tabs {
		if _, err := b.open(ctx); err != nil {
			return nil, err
		}
	}
	if ua, err := browsertest.EvalErr[string](b.current()[0].t, `navigator.userAgent`); err == nil {
		rep.Browser = product(ua)
	}
	if _, err := b.waitFormed(ctx); err != nil {
		return nil, err
	}
	log.Info("cluster formed", "tabs", len(b.tabs), "room", b.room)
	if c.Duration > 0 {
		if rep.Throughput, err = b.throughput(ctx); err != nil {
			return rep, fmt.Errorf("throughput: %w", err)
		}
	}
	if c.Trials > 0 {
		if rep.Failover, err = b.failover(ctx); err != nil {
			return rep, fmt.Errorf("failover: %w", err)
		}
	}
	return rep, nil
}

// bench is one run: the server, the browser and the tabs of its room.
type bench struct {
	cfg  Config
	log  *slog.Logger
	srv  *browsertest.Server
	br   *browsertest.Browser
	room string
	// profileDir is the browser's profile, which names its processes.
	profileDir string

	mu   sync.Mutex
	tabs []*tab
}

// tab is one member's tab.
type tab struct {
	t  *browsertest.Tab
	id string
}

// joinJS loads tabraft.js in a page of the server that has nothing else
// (the bare page) and joins the room; window.tabraftMember is the member.
const joinJS = `(async (room) => {
	const { loadTabraft } = await import("/tabraft.js");
	const tabraft = await loadTabraft();
	window.tabraftMember = await tabraft.join({ room });
	return tabraftMember.id;
})(%q)`

// demoReadyJS waits for the demo page's member.
const demoReadyJS = `(async () => {
	while (!window.tabraftReady) await new Promise(r => setTimeout(r, 20));
	return (await window.tabraftReady).id;
})()`

// open opens a tab and waits until its member joined.
func (b *bench) open(ctx context.Context) (*tab, error) {
	url, js := b.srv.URL+"/healthz", fmt.Sprintf(joinJS, b.room)
	if b.cfg.Demo {
		url, js = b.srv.URL+"/?room="+b.room, demoReadyJS
	}
	bt, err := b.br.NewTab(url)
	if err != nil {
		return nil, err
	}
	id, err := browsertest.EvalErr[string](bt, js)
	if err != nil {
		bt.Close()
		return nil, fmt.Errorf("joining: %w", err)
	}
	bt.Name = "tab of member " + id
	t := &tab{t: bt, id: id}
	b.mu.Lock()
	b.tabs = append(b.tabs, t)
	b.mu.Unlock()
	return t, ctx.Err()
}

// drop closes t and forgets it.
func (b *bench) drop(t *tab) {
	b.mu.Lock()
	b.tabs = slices.DeleteFunc(b.tabs, func(x *tab) bool { return x == t })
	b.mu.Unlock()
	b.close(t)
}

func (b *bench) closeAll() {
	b.mu.Lock()
	tabs := b.tabs
	b.tabs = nil
	b.mu.Unlock()
	for _, t := range tabs {
		b.close(t)
	}
}

// close closes t's tab and keeps its console if asked.
func (b *bench) close(t *tab) {
	t.t.Close()
	if b.cfg.ConsoleDir == "" {
		return
	}
	if err := os.MkdirAll(b.cfg.ConsoleDir, 0o755); err != nil {
		b.log.Warn("console not kept", "err", err)
		return
	}
	name := filepath.Join(b.cfg.ConsoleDir, t.id+".log")
	if err := os.WriteFile(name, []byte(t.t.Console()), 0o644); err != nil {
		b.log.Warn("console not kept", "err", err)
	}
}

func (b *bench) current() []*tab {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.tabs)
}

// status is the part of status() used here.
type status struct {
	ID        string
	Role      string
	Leader    string
	Term      uint64
	Commit    uint64
	Applied   uint64
	LastIndex uint64
	Voters    []string
	Learners  []string
	Note      string
	// Raft messages per second over the last second.
	MsgsOutPerSec float64
	MsgsInPerSec  float64
}

func statusOf(t *tab) (status, error) {
	return browsertest.EvalErr[status](t.t, `tabraftMember.status()`)
}

// formTimeout bounds the wait for the open tabs to be the voters.
const formTimeout = 60 * time.Second

// waitFormed waits until every open tab follows one leader among them and
// the voters are exactly the open tabs; it returns the leader's tab.
func (b *bench) waitFormed(ctx context.Context) (*tab, error) {
	var leader *tab
	err := browsertest.Poll(formTimeout, "the open tabs are the voters, with one leader among them", func() (bool, error) {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		tabs := b.current()
		var want []string
		for _, t := range tabs {
			want = append(want, t.id)
		}
		slices.Sort(want)
		leader = nil
		var lead string
		var term uint64
		for i, t := range tabs {
			s, err := statusOf(t)
			switch {
			case err != nil:
				return false, err
			case s.Leader == "":
				return false, fmt.Errorf("%s knows no leader (%s)", t.t.Name, s.Note)
			case i > 0 && (s.Leader != lead || s.Term != term):
				return false, fmt.Errorf("tabs follow different leaders")
			}
			lead, term = s.Leader, s.Term
			if s.Role != "leader" {
				continue
			}
			if !slices.Equal(slices.Sorted(slices.Values(s.Voters)), want) || len(s.Learners) > 0 {
				return false, fmt.Errorf("voters %v, learners %v; the open tabs are %v", s.Voters, s.Learners, want)
			}
			leader = t
		}
		if leader == nil {
			return false, errors.New("the leader is none of the open tabs")
		}
		return true, nil
	})
	return leader, err
}

// product picks the browser's name and version out of a user agent.
func product(ua string) string {
	for _, f := range strings.Fields(ua) {
		if strings.Contains(f, "Chrome/") {
			return f
		}
	}
	return ua
}
