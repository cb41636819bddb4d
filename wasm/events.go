package wasm

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tabraft/tabraft/peer/board"
)

// Kinds of events (web/tabraft.d.ts, Events).
const (
	EventRole       = "role"
	EventTerm       = "term"
	EventMembership = "membership"
	EventApplied    = "applied"
	EventRestored   = "restored"
	EventError      = "error"
)

var eventKinds = [...]string{EventRole, EventTerm, EventMembership, EventApplied, EventRestored, EventError}

// kindIndex returns the position of kind in eventKinds, -1 if unknown.
func kindIndex(kind string) int {
	for i, k := range eventKinds {
		if k == kind {
			return i
		}
	}
	return -1
}

// Event is one event of a member; Data is what the JavaScript callback
// receives, encoded as JSON (roleEvent, termEvent…).
type Event struct {
	Kind string
	Data any
}

// JSON returns the event's payload as JSON.
func (e Event) JSON() []byte {
	b, err := json.Marshal(e.Data)
	if err != nil { // cannot happen with the payload types below
		return []byte("null")
	}
	return b
}

type roleEvent struct {
	Role   string `json:"role"`
	Term   uint64 `json:"term"`
	Leader string `json:"leader"`
}

type termEvent struct {
	Term uint64 `json:"term"`
}

type membershipEvent struct {
	Voters   []string `json:"voters"`
	Learners []string `json:"learners"`
}

// jsOp is an Op as tabraft.d.ts spells it (val present on every set).
type jsOp struct {
	Op  string  `json:"op"`
	Key *string `json:"key,omitempty"`
	Val *string `json:"val,omitempty"`
}

func toJSOp(op *board.Op) *jsOp {
	if op == nil {
		return nil
	}
	o := &jsOp{Op: op.Kind}
	switch op.Kind {
	case "set":
		o.Key, o.Val = &op.Key, &op.Value
	case "del":
		o.Key = &op.Key
	}
	return o
}

type appliedEvent struct {
	Index  uint64        `json:"index"`
	Term   uint64        `json:"term"`
	Op     *jsOp         `json:"op"`
	Result *board.Result `json:"result"`
	Hash   string        `json:"hash"`
}

type restoredEvent struct {
	Index uint64 `json:"index"`
	Hash  string `json:"hash"`
}

type errorEvent struct {
	Message string `json:"message"`
}

// maxQueuedEvents bounds the events waiting for delivery; past it new ones
// are dropped (and counted): a subscriber far behind must not exhaust the
// tab's memory.
const maxQueuedEvents = 100_000

// bus delivers a member's events to its subscribers, in the order they
// were emitted, from a goroutine of its own: emit never blocks (the node's
// goroutine emits), and events nobody subscribed to are not even built.
type bus struct {
	log *slog.Logger

	counts [len(eventKinds)]atomic.Int32 // subscribers per kind

	mu      sync.Mutex
	subs    []subscription // in the order they subscribed
	next    uint64
	queue   []Event
	dropped uint64
	wake    chan struct{}
}

type subscription struct {
	id   uint64
	kind string
	fn   func(Event)
}

func newBus(log *slog.Logger) *bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &bus{log: log, wake: make(chan struct{}, 1)}
}

// wants reports whether kind has subscribers.
func (b *bus) wants(kind string) bool {
	i := kindIndex(kind)
	return i >= 0 && b.counts[i].Load() > 0
}

// subscribe calls fn, from the bus's goroutine, with every event of kind
// emitted from now on, until the returned function is called.
func (b *bus) subscribe(kind string, fn func(Event)) (unsubscribe func(), ok bool) {
	i := kindIndex(kind)
	if i < 0 {
		return func() {}, false
	}
	b.mu.Lock()
	b.next++
	id := b.next
	b.subs = append(b.subs, subscription{id, kind, fn})
	b.mu.Unlock()
	b.counts[i].Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.subs = slices.DeleteFunc(b.subs, func(s subscription) bool { return s.id == id })
			b.mu.Unlock()
			b.counts[i].Add(-1)
		})
	}, true
}

// emit queues an event; build makes its payload, only when kind has
// subscribers.
func (b *bus) emit(kind string, build func() any) {
	if !b.wants(kind) {
		return
	}
	e := Event{Kind: kind, Data: build()}
	b.mu.Lock()
	if len(b.queue) >= maxQueuedEvents {
		b.dropped++
		b.mu.Unlock()
		return
	}
	b.queue = append(b.queue, e)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run delivers the queued events until ctx is done.
func (b *bus) run(ctx context.Context) {
	var batch []Event
	var fns []func(Event)
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		}
		b.mu.Lock()
		batch, b.queue = b.queue, batch[:0]
		dropped := b.dropped
		b.dropped = 0
		b.mu.Unlock()
		if dropped > 0 {
			b.log.Warn("events dropped: subscribers too slow", "dropped", dropped)
		}
		for _, e := range batch {
			fns = fns[:0]
			b.mu.Lock()
			for _, s := range b.subs {
				if s.kind == e.Kind {
					fns = append(fns, s.fn)
				}
			}
			b.mu.Unlock()
			for _, fn := range fns {
				fn(e)
			}
		}
		clear(batch)
	}
}
