package rtc

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// stubChannel is the part of a data channel and its statistics a pacer
// reads, driven by a test.
type stubChannel struct {
	amount atomic.Uint64 // bufferedAmount
	sent   atomic.Uint64 // bytesSent of getStats
	asked  atomic.Int64  // getStats calls
}

func (c *stubChannel) pacer(high uint64) *pacer {
	return &pacer{
		buffered: c.amount.Load,
		sent: func() (uint64, error) {
			c.asked.Add(1)
			return c.sent.Load(), nil
		},
		high:       high,
		staleAfter: 20 * time.Millisecond,
	}
}

// write records n bytes handed to the channel, which counts them as
// buffered.
func (c *stubChannel) write(p *pacer, n uint64) {
	p.written += n
	c.amount.Add(n)
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// TestPacerStaleCounter is Chromium's stuck bufferedAmount: it never falls
// although every byte was transmitted. The writer must find out from the
// statistics, once, and go on writing.
func TestPacerStaleCounter(t *testing.T) {
	var c stubChannel
	p := c.pacer(256 << 10)
	stale := 0
	for round := range 4 {
		c.write(p, 300<<10)
		c.sent.Store(p.written) // all of it went out; the counter never falls
		if !p.full() {
			t.Fatalf("round %d: not full with %d bytes counted", round, c.amount.Load())
		}
		if !p.waitRoom(nil, nil, stoppedTimer(), func() { stale++ }) {
			t.Fatalf("round %d: waitRoom gave up", round)
		}
		if got := p.backlog(); got != 0 {
			t.Errorf("round %d: backlog %d after the statistics said everything went out", round, got)
		}
	}
	if stale != 1 {
		t.Errorf("the stale counter was reported %d times, want once", stale)
	}

	// The browser's late decrements arrive: no more than what the counter
	// holds can be stale.
	c.amount.Store(10 << 10)
	if got := p.backlog(); got != 0 || p.stale > 10<<10 {
		t.Errorf("after the counter fell below the stale part: backlog %d, stale %d", got, p.stale)
	}
	c.write(p, 300<<10)
	if !p.full() {
		t.Errorf("a real backlog of %d bytes is not full", p.backlog())
	}
}

// TestPacerHealthyCounter: a counter that falls lets the writer go on
// without asking the statistics.
func TestPacerHealthyCounter(t *testing.T) {
	var c stubChannel
	p := c.pacer(256 << 10)
	p.staleAfter = time.Hour
	c.write(p, 400<<10)
	low := make(chan struct{}, 1)
	go func() {
		for c.amount.Load() > 64<<10 {
			c.amount.Add(^uint64(32<<10 - 1)) // -32 KiB
			select {
			case low <- struct{}{}:
			default:
			}
		}
	}()
	if !p.waitRoom(low, nil, stoppedTimer(), func() { t.Error("a falling counter was reported stale") }) {
		t.Fatal("waitRoom gave up")
	}
	if p.backlog() > p.high {
		t.Errorf("waitRoom returned with a backlog of %d", p.backlog())
	}
	if n := c.asked.Load(); n != 0 {
		t.Errorf("the statistics were read %d times", n)
	}
}

// TestPacerStalledNetwork: when the statistics agree that nothing went
// out, the writer keeps waiting, until the session ends.
func TestPacerStalledNetwork(t *testing.T) {
	var c stubChannel
	p := c.pacer(256 << 10)
	c.write(p, 300<<10)
	done := make(chan struct{})
	p.sent = func() (uint64, error) {
		if c.asked.Add(1) == 3 { // the session ends after the pacer asked thrice
			close(done)
		}
		return c.sent.Load(), nil
	}
	if p.waitRoom(nil, done, stoppedTimer(), func() { t.Error("a stalled network was reported as a stale counter") }) {
		t.Fatal("waitRoom returned room on a stalled network")
	}
	if p.stale != 0 {
		t.Errorf("stale %d", p.stale)
	}
}

// TestPacerStatsFail: without statistics the pacer trusts the counter.
func TestPacerStatsFail(t *testing.T) {
	var c stubChannel
	p := c.pacer(256 << 10)
	done := make(chan struct{})
	p.sent = func() (uint64, error) {
		if c.asked.Add(1) == 2 {
			close(done)
		}
		return 0, errors.New("no stats")
	}
	c.write(p, 300<<10)
	if p.waitRoom(nil, done, stoppedTimer(), nil) {
		t.Fatal("waitRoom returned room without statistics")
	}
}
