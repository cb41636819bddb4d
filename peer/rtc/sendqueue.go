package rtc

import "sync"

// sendQueue holds the encoded messages waiting for one connection's writer.
// It is bounded in bytes: push refuses what does not fit, and the caller
// drops it (Send never blocks). Bytes count until the writer has handed a
// message to the data channel, so the bound covers the message being
// written too.
type sendQueue struct {
	mu     sync.Mutex
	items  []queued
	head   int
	bytes  int
	limit  int
	closed bool
	ready  chan struct{} // holds a token while items are waiting
}

// queued is one message: its fragments and their total size.
type queued struct {
	frags [][]byte
	n     int
}

func newSendQueue(limit int) *sendQueue {
	return &sendQueue{limit: limit, ready: make(chan struct{}, 1)}
}

// fits reports whether push would take a message of n bytes now, so that
// Send can drop a message before spending the time to encode it.
func (q *sendQueue) fits(n int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.closed && (q.bytes == 0 || q.bytes+n <= q.limit)
}

// push queues a message of n bytes. It refuses it when the queue is closed,
// or when it would exceed the bound, unless the queue is empty (a message
// larger than the bound can still go, alone).
func (q *sendQueue) push(frags [][]byte, n int) bool {
	q.mu.Lock()
	if q.closed || (q.bytes > 0 && q.bytes+n > q.limit) {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, queued{frags, n})
	q.bytes += n
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// pop takes the oldest message, or reports false if there is none. Its
// bytes still count until release.
func (q *sendQueue) pop() (queued, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) || q.closed {
		return queued{}, false
	}
	it := q.items[q.head]
	q.items[q.head] = queued{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 64 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return it, true
}

// release stops counting a popped message of n bytes.
func (q *sendQueue) release(n int) {
	q.mu.Lock()
	q.bytes -= n
	q.mu.Unlock()
}

// len returns the bytes counted and the messages waiting.
func (q *sendQueue) len() (bytes, msgs int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.bytes, len(q.items) - q.head
}

// close refuses further pushes and pops and returns how many messages were
// still waiting (they are dropped).
func (q *sendQueue) close() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0
	}
	q.closed = true
	n := len(q.items) - q.head
	q.items, q.head, q.bytes = nil, 0, 0
	return n
}
