package rtc

import (
	"errors"
	"sync"
)

// Errors that end a connection's receive side.
var (
	errRxOverflow = errors.New("receive queue over its bound: the member does not keep up")
	errRxTooBig   = errors.New("received data channel message over the size limit")
	errRxClosed   = errors.New("receive queue closed")
)

// rxQueue keeps received data channel messages in arrival order until one
// goroutine reads them. It serves GOOS=js, where the browser's message
// events must be handled without blocking: the event handler copies the
// data and pushes it here, in event order, and the connection's reader
// pops it. It is bounded in bytes; past the bound, or on a message over
// maxMsg, it fails, and the connection is reset.
type rxQueue struct {
	mu     sync.Mutex
	frags  [][]byte
	head   int
	bytes  int
	limit  int
	maxMsg int
	err    error         // why the queue failed or closed; nil while it runs
	ready  chan struct{} // holds a token while frags are waiting or err is set
}

func newRxQueue(limit, maxMsg int) *rxQueue {
	return &rxQueue{limit: limit, maxMsg: maxMsg, ready: make(chan struct{}, 1)}
}

// push appends b (which the queue now owns). It never blocks.
func (q *rxQueue) push(b []byte) {
	q.mu.Lock()
	switch {
	case q.err != nil:
	case len(b) > q.maxMsg:
		q.fail(errRxTooBig)
	case q.bytes+len(b) > q.limit:
		q.fail(errRxOverflow)
	default:
		q.frags = append(q.frags, b)
		q.bytes += len(b)
	}
	q.mu.Unlock()
	q.wake()
}

// pushTooBig records a message that was too big to copy.
func (q *rxQueue) pushTooBig() { q.pushErr(errRxTooBig) }

// pushErr records a message that could not be taken: the queue fails with
// err.
func (q *rxQueue) pushErr(err error) {
	q.mu.Lock()
	if q.err == nil {
		q.fail(err)
	}
	q.mu.Unlock()
	q.wake()
}

// fail sets the error and drops what waits; q.mu is held.
func (q *rxQueue) fail(err error) {
	q.err = err
	q.frags, q.head, q.bytes = nil, 0, 0
}

func (q *rxQueue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// next returns the oldest message, waiting for one; after a failure or
// close it returns the error.
func (q *rxQueue) next() ([]byte, error) {
	for {
		q.mu.Lock()
		if q.err != nil {
			err := q.err
			q.mu.Unlock()
			q.wake() // for a later call
			return nil, err
		}
		if q.head < len(q.frags) {
			b := q.frags[q.head]
			q.frags[q.head] = nil
			q.head++
			q.bytes -= len(b)
			if q.head == len(q.frags) {
				q.frags, q.head = q.frags[:0], 0
			} else if q.head > 64 && q.head*2 > len(q.frags) {
				n := copy(q.frags, q.frags[q.head:])
				clear(q.frags[n:])
				q.frags, q.head = q.frags[:n], 0
			}
			q.mu.Unlock()
			return b, nil
		}
		q.mu.Unlock()
		<-q.ready
	}
}

// close ends the queue: next returns errRxClosed.
func (q *rxQueue) close() {
	q.mu.Lock()
	if q.err == nil {
		q.fail(errRxClosed)
	}
	q.mu.Unlock()
	q.wake()
}
