package rtc

import "sync"

// maxMailbox bounds the events waiting for a link. Only events from the
// signaling server can pile up (a hostile member flooding us with relays,
// within the server's rate limit); past the bound they are dropped. Events
// of the peer connection are few per connection and always kept.
const maxMailbox = 1024

// mailbox is a link's queue of events. Posting never blocks, so pion's
// callbacks (the browser's event handlers under GOOS=js) can post
// directly; the link's goroutine takes the events in the order they were
// posted.
type mailbox struct {
	mu    sync.Mutex
	evs   []event
	ready chan struct{} // holds a token while evs is not empty
}

func newMailbox() *mailbox { return &mailbox{ready: make(chan struct{}, 1)} }

// post queues e. It reports false when e came from signaling and the
// mailbox is full.
func (m *mailbox) post(e event) bool {
	m.mu.Lock()
	if e.kind == evRelay && len(m.evs) >= maxMailbox {
		m.mu.Unlock()
		return false
	}
	m.evs = append(m.evs, e)
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
	return true
}

// take moves the queued events to dst (reused) and returns it.
func (m *mailbox) take(dst []event) []event {
	m.mu.Lock()
	defer m.mu.Unlock()
	dst = append(dst[:0], m.evs...)
	clear(m.evs)
	m.evs = m.evs[:0]
	return dst
}
