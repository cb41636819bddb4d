package wasm

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
)

// Transport is what a member needs of its transport: a peer.Transport
// that also tells who is in the room and who has an open link
// (rtc.Transport).
type Transport interface {
	peer.Transport
	// Members returns the other members in the room, complete when the
	// transport is returned (rtc.New returns with the room's roster).
	Members() []raft.NodeID
	// Connected returns the members with an open link.
	Connected() []raft.NodeID
}

// link wraps a member's transport: it counts the messages each way and
// drops every message both ways while cut (disconnect()).
type link struct {
	inner Transport
	cut   *atomic.Bool // the member's switch: it outlives restarts
	inbox chan raft.Message
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup

	sent, received atomic.Uint64

	mu      sync.Mutex
	inRate  float64 // messages per second over the last sample
	outRate float64
}

// rateInterval is how often the message rates are sampled.
const rateInterval = time.Second

func newLink(inner Transport, cut *atomic.Bool) *link {
	l := &link{
		inner: inner, cut: cut,
		inbox: make(chan raft.Message, cap(inner.Inbox())),
		done:  make(chan struct{}),
	}
	l.wg.Add(1)
	go l.pump()
	return l
}

// Send implements peer.Transport.
func (l *link) Send(m raft.Message) {
	if l.cut.Load() {
		return
	}
	l.sent.Add(1)
	l.inner.Send(m)
}

// Inbox implements peer.Transport.
func (l *link) Inbox() <-chan raft.Message { return l.inbox }

// Unreachable implements peer.Transport.
func (l *link) Unreachable() <-chan raft.NodeID { return l.inner.Unreachable() }

// Members returns the other members in the room (the node's roster).
func (l *link) Members() []raft.NodeID { return l.inner.Members() }

// Connected returns the members with an open link.
func (l *link) Connected() []raft.NodeID { return l.inner.Connected() }

// Close implements peer.Transport.
func (l *link) Close() error {
	l.once.Do(func() { close(l.done) })
	l.wg.Wait()
	return l.inner.Close()
}

// pump moves received messages to the inbox (dropping them while cut)
// and samples the rates.
func (l *link) pump() {
	defer l.wg.Done()
	tick := time.NewTicker(rateInterval)
	defer tick.Stop()
	last := time.Now()
	var lastIn, lastOut uint64
	for {
		select {
		case <-l.done:
			return
		case now := <-tick.C:
			in, out := l.received.Load(), l.sent.Load()
			secs := now.Sub(last).Seconds()
			if secs <= 0 {
				continue
			}
			l.mu.Lock()
			l.inRate, l.outRate = float64(in-lastIn)/secs, float64(out-lastOut)/secs
			l.mu.Unlock()
			last, lastIn, lastOut = now, in, out
		case m := <-l.inner.Inbox():
			if l.cut.Load() {
				continue
			}
			l.received.Add(1)
			select {
			case l.inbox <- m:
			case <-l.done:
				return
			}
		}
	}
}

// rates returns the messages per second received and sent.
func (l *link) rates() (in, out float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inRate, l.outRate
}
