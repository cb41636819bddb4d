package server

import (
	"sync"

	"github.com/coder/websocket"
)

// outgoing is one item of a connection's send queue: a message to write,
// a close to perform after it, or both.
type outgoing struct {
	data        []byte
	closeCode   websocket.StatusCode // zero: no close
	closeReason string
}

// sendQueue is a connection's queue of outgoing messages, bounded in count
// and in bytes. An empty queue holds no memory beyond a small array.
type sendQueue struct {
	maxLen, maxBytes int
	// ready holds a token when items may have been pushed since the
	// consumer last looked.
	ready chan struct{}

	mu    sync.Mutex
	items []outgoing
	head  int // items[head:] are queued
	bytes int
}

func newSendQueue(maxLen, maxBytes int) *sendQueue {
	return &sendQueue{maxLen: maxLen, maxBytes: maxBytes, ready: make(chan struct{}, 1)}
}

// push queues o, unless the queue is full. An item that alone is larger
// than the byte bound is accepted into an empty queue.
func (q *sendQueue) push(o outgoing) bool {
	q.mu.Lock()
	n := len(q.items) - q.head
	if n >= q.maxLen || n > 0 && q.bytes+len(o.data) > q.maxBytes {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, o)
	q.bytes += len(o.data)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// pop removes and returns the first item, if any.
func (q *sendQueue) pop() (outgoing, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		return outgoing{}, false
	}
	o := q.items[q.head]
	q.items[q.head] = outgoing{}
	q.head++
	q.bytes -= len(o.data)
	if q.head == len(q.items) {
		q.head = 0
		q.items = q.items[:0]
		if cap(q.items) > 64 {
			q.items = nil // let a burst's large array go
		}
	}
	return o, true
}
