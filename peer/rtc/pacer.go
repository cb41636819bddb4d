package rtc

import (
	"cmp"
	"time"
)

// staleAfter is how long a paused writer lets bufferedAmount stand still
// before it asks the connection's statistics what the channel has really
// transmitted; stalePoll is how often it asks once it knows the counter is
// stale.
const (
	staleAfter = time.Second
	stalePoll  = 50 * time.Millisecond
)

// pacer keeps a connection's writer at most high bytes ahead of the
// network, by the data channel's bufferedAmount.
//
// That counter cannot be trusted alone: Chromium sometimes never lowers a
// channel's bufferedAmount although the bytes went out. TestBrowser caught
// it under load, on a tab's channel to a native member: bufferedAmount
// stood at every byte ever sent, while getStats' bytesSent equalled it and
// the native member had received and acknowledged it all. A writer that
// believed the counter waited forever on a healthy connection. So when the
// counter has not moved for staleAfter, the pacer asks the statistics; the
// bytes written minus the bytes transmitted are the true backlog, and what
// the counter holds above that is ignored from then on.
type pacer struct {
	buffered   func() uint64          // the channel's bufferedAmount
	sent       func() (uint64, error) // payload bytes the channel has transmitted
	high       uint64
	staleAfter time.Duration

	written uint64 // bytes handed to dc.send
	stale   uint64 // how much of bufferedAmount is known not to wait
}

// backlog returns the bytes that wait in the channel's buffer.
func (p *pacer) backlog() uint64 {
	a := p.buffered()
	p.stale = min(p.stale, a) // the counter caught up
	return a - p.stale
}

// full reports whether the writer must wait before sending more.
func (p *pacer) full() bool { return p.backlog() > p.high }

// recheck compares bufferedAmount with the channel's statistics and
// reports whether the counter was found stale (the backlog is corrected).
func (p *pacer) recheck() bool {
	sent, err := p.sent()
	if err != nil {
		return false
	}
	a := p.buffered()
	waiting := p.written - min(sent, p.written)
	if a <= waiting {
		return false
	}
	p.stale = a - waiting
	return true
}

// waitRoom waits until the channel's backlog is at most high bytes. It
// returns false if the session ended first. low carries the channel's
// bufferedamountlow events; poll is the writer's timer, stopped.
func (p *pacer) waitRoom(low <-chan struct{}, done <-chan struct{}, poll *time.Timer, onStale func()) bool {
	staleAfter := cmp.Or(p.staleAfter, staleAfter)
	since, last := time.Now(), p.buffered()
	for p.full() {
		wait := bufferPoll
		if p.stale > 0 {
			wait = stalePoll
		}
		poll.Reset(wait)
		select {
		case <-low:
		case <-poll.C:
		case <-done:
			poll.Stop()
			return false
		}
		if a := p.buffered(); a != last {
			since, last = time.Now(), a
			continue
		}
		if p.stale == 0 && time.Since(since) < staleAfter {
			continue
		}
		known := p.stale > 0
		if p.recheck() && !known && onStale != nil {
			onStale()
		}
	}
	poll.Stop()
	return true
}
