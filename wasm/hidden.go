package wasm

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// # Hidden tabs
//
// A browser throttles the timers of a hidden tab (at least a second per
// setTimeout, more after a while), and Go's timers under js are
// setTimeout: a hidden leader's heartbeats come late, its followers time
// out and elect another leader, which the hidden one may win again. So a
// leader whose tab becomes hidden hands leadership over (HandOver: to the
// most up-to-date voter, only if another voter exists), and one that
// becomes leader while hidden hands over again after a short delay. Both
// are rate-limited (HiddenMinGap), and after HiddenMaxTries hand-overs in
// a row while hidden it gives up and stays leader: when every tab is
// hidden, somebody has to lead, and passing leadership around would be an
// election storm of its own. Becoming visible resets the count.
//
// Followers need nothing: throttling only slows their election timers,
// which makes elections rarer, not more frequent, and pre-vote and
// check-quorum stay on, so a late follower cannot depose a healthy leader.

// Hidden-tab policy constants.
const (
	// HiddenMinGap is the least time between two hand-overs of a hidden
	// member.
	HiddenMinGap = 2 * time.Second
	// HiddenLeadDelay is how long a member that became leader while hidden
	// waits before it hands over (its first entry commits meanwhile).
	HiddenLeadDelay = 300 * time.Millisecond
	// HiddenMaxTries is how many hand-overs in a row a hidden member makes
	// before it keeps leadership.
	HiddenMaxTries = 2
	hiddenHandOver = 5 * time.Second // bound of one hand-over
)

// hiddenPolicy is the decision part of the hidden-tab policy, with no
// clock and no member: the caller passes the time.
type hiddenPolicy struct {
	hidden bool
	last   time.Time // of the last hand-over started
	tries  int       // hand-overs started since the tab was last visible
}

// visibility records that the tab became hidden or visible. It says
// whether to hand over now (if the member leads).
func (p *hiddenPolicy) visibility(hidden bool, now time.Time) bool {
	if hidden == p.hidden {
		return false
	}
	p.hidden = hidden
	if !hidden {
		p.tries = 0
		return false
	}
	return p.start(now)
}

// becameLeader says how long to wait before handing over after the member
// became leader at now, and whether to at all.
func (p *hiddenPolicy) becameLeader(now time.Time) (time.Duration, bool) {
	if !p.hidden || p.tries >= HiddenMaxTries {
		return 0, false
	}
	wait := HiddenLeadDelay
	if !p.last.IsZero() {
		wait = max(wait, p.last.Add(HiddenMinGap).Sub(now))
	}
	return wait, true
}

// start says whether a hand-over may start at now, and records it if so.
func (p *hiddenPolicy) start(now time.Time) bool {
	if !p.hidden || p.tries >= HiddenMaxTries || !p.last.IsZero() && now.Sub(p.last) < HiddenMinGap {
		return false
	}
	p.last = now
	p.tries++
	return true
}

// HiddenWatch applies the hidden-tab policy to one member: SetHidden from
// the page's visibilitychange, and role events of the member's.
type HiddenWatch struct {
	m     *Member
	log   *slog.Logger
	unsub func()

	mu     sync.Mutex
	policy hiddenPolicy
}

// WatchHidden starts applying the hidden-tab policy to m, logging to log
// (none if nil); Close stops it.
func WatchHidden(m *Member, log *slog.Logger) *HiddenWatch {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &HiddenWatch{m: m, log: log}
	h.unsub, _ = m.On(EventRole, h.onRole)
	return h
}

// Close stops watching the member's role.
func (h *HiddenWatch) Close() {
	if h.unsub != nil {
		h.unsub()
	}
}

// SetHidden records the page's visibility; it never blocks (a hand-over
// runs in a goroutine).
func (h *HiddenWatch) SetHidden(hidden bool) {
	h.mu.Lock()
	ok := h.policy.visibility(hidden, time.Now())
	h.mu.Unlock()
	if ok {
		go h.handOver("the tab is hidden")
	}
}

func (h *HiddenWatch) onRole(e Event) {
	re, ok := e.Data.(roleEvent)
	if !ok || re.Role != "leader" {
		return
	}
	h.mu.Lock()
	wait, ok := h.policy.becameLeader(time.Now())
	h.mu.Unlock()
	if !ok {
		return
	}
	go func() {
		time.Sleep(wait) // a delay, not a wait for a condition
		h.mu.Lock()
		ok := h.policy.start(time.Now())
		h.mu.Unlock()
		if ok {
			h.handOver("became leader while hidden")
		}
	}()
}

func (h *HiddenWatch) handOver(why string) {
	ctx, cancel := context.WithTimeout(context.Background(), hiddenHandOver)
	defer cancel()
	if err := h.m.HandOver(ctx); err != nil {
		h.log.Debug("hidden tab: no hand-over", "why", why, "err", err)
		return
	}
	h.log.Info("hidden tab: handed leadership over if it led", "why", why)
}
