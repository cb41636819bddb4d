package rtc

import (
	"sync"

	"github.com/tabraft/tabraft/raft"
)

// coalescer delivers per-member notices on a channel without ever blocking
// the side that raises them and without unbounded memory: a member has at
// most one notice pending, holding the latest value raised for it. Notices
// go out in the order their members first became pending. A consumer that
// falls behind thus sees, for each member that changed, its latest value.
type coalescer[T any] struct {
	out chan T

	mu      sync.Mutex
	order   []raft.NodeID
	pending map[raft.NodeID]*notice[T]
	kick    chan struct{}
}

type notice[T any] struct {
	v       T
	version uint64
}

func newCoalescer[T any]() *coalescer[T] {
	return &coalescer[T]{
		out:     make(chan T),
		pending: make(map[raft.NodeID]*notice[T]),
		kick:    make(chan struct{}, 1),
	}
}

// raise sets the pending notice of id to v.
func (c *coalescer[T]) raise(id raft.NodeID, v T) {
	c.mu.Lock()
	if n, ok := c.pending[id]; ok {
		n.v = v
		n.version++
	} else {
		c.pending[id] = &notice[T]{v: v}
		c.order = append(c.order, id)
	}
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// head returns the oldest pending notice.
func (c *coalescer[T]) head() (id raft.NodeID, v T, version uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) == 0 {
		return 0, v, 0, false
	}
	id = c.order[0]
	n := c.pending[id]
	return id, n.v, n.version, true
}

// delivered removes id's notice unless it changed since version.
func (c *coalescer[T]) delivered(id raft.NodeID, version uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.pending[id]; n == nil || n.version != version {
		return
	}
	delete(c.pending, id)
	c.order[0] = 0
	c.order = c.order[1:]
	if len(c.order) == 0 {
		c.order = nil // let the backing array go
	}
}

// run delivers notices until done is closed.
func (c *coalescer[T]) run(done <-chan struct{}) {
	for {
		id, v, version, ok := c.head()
		if !ok {
			select {
			case <-c.kick:
				continue
			case <-done:
				return
			}
		}
		select {
		case c.out <- v:
			c.delivered(id, version)
		case <-c.kick:
			// The head may have changed value: take it again.
		case <-done:
			return
		}
	}
}
