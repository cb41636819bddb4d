package rtc

import (
	"sync"
	"time"

	"github.com/tabraft/tabraft/peer/wire"
)

// channelLabel names the one data channel of a connection.
const channelLabel = "tabraft"

// maxDataChannelMessage is the largest data channel message read. The wire
// codec sends at most 16 KiB; anything larger is hostile and resets the
// connection.
const maxDataChannelMessage = 64 << 10

// bufferPoll is how often a paused writer looks at BufferedAmount again,
// should OnBufferedAmountLow not come.
const bufferPoll = 250 * time.Millisecond

// receiver yields a data channel's messages, in arrival order, to one
// goroutine. Natively it reads the detached channel; under GOOS=js it
// drains the queue its own onmessage handler fills.
type receiver interface {
	// open is called from the channel's OnOpen callback.
	open() error
	// next returns the next message, waiting for it; buf may be used to
	// hold it. After close, or when the channel ends, it returns an error.
	next(buf []byte) ([]byte, error)
	// close stops the receiver.
	close()
}

// session is one attempt at a connection with a peer: a peer connection,
// and once negotiated its data channel with a reader and a writer. The
// link's goroutine owns the fields above mu.
type session struct {
	id      uint64 // the offerer's session number
	pc      peerConn
	started time.Time

	remoteSet bool            // the remote description is set
	pending   []candidateInit // remote candidates received before it
	open      bool
	q         *sendQueue // once open

	done       chan struct{} // closed when the session ends
	low        chan struct{} // OnBufferedAmountLow, for the writer
	readerDone chan struct{} // closed when the reader has returned

	mu     sync.Mutex // guards dc, rx and closed: set from callbacks
	dc     dataChannel
	rx     receiver
	closed bool
}

// setChannel records the session's data channel; false if it already has
// one or has ended.
func (s *session) setChannel(dc dataChannel, rx receiver) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.dc != nil {
		return false
	}
	s.dc, s.rx = dc, rx
	return true
}

func (s *session) channel() (dataChannel, receiver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dc, s.rx
}

// shut marks the session ended and returns its channel, if any.
func (s *session) shut() (dataChannel, receiver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.dc, s.rx
}

// newSession makes a peer connection whose callbacks post to the link.
func (l *link) newSession(id uint64) (*session, error) {
	pc, err := l.t.api.newPeerConn(l.t.iceServers(), l.t.ctx.Done())
	if err != nil {
		return nil, err
	}
	s := &session{
		id:         id,
		pc:         pc,
		started:    time.Now(),
		done:       make(chan struct{}),
		low:        make(chan struct{}, 1),
		readerDone: make(chan struct{}),
	}
	pc.onICECandidate(func(c candidateInit) {
		l.box.post(event{kind: evLocalCandidate, sess: s, cand: c})
	})
	pc.onConnectionStateChange(func(st pcState) {
		l.box.post(event{kind: evPCState, sess: s, state: st})
	})
	return s, nil
}

// wireChannel sets up a data channel as soon as it exists: the receiver
// (under GOOS=js it must be in place before the first message event), the
// backpressure signal and the open and close callbacks.
func (l *link) wireChannel(s *session, dc dataChannel) {
	if dc.label() != channelLabel {
		l.log.Debug("unexpected data channel refused", "label", dc.label())
		dc.close()
		return
	}
	rx := dc.newReceiver(&l.t.cfg)
	if !s.setChannel(dc, rx) {
		rx.close()
		dc.close()
		return
	}
	dc.setBufferedAmountLowThreshold(l.t.cfg.LowWater)
	dc.onBufferedAmountLow(func() {
		select {
		case s.low <- struct{}{}:
		default:
		}
	})
	dc.onClose(func() { l.box.post(event{kind: evDown, sess: s, err: errChannelClosed}) })
	dc.onOpen(func() { l.channelOpen(s, rx) })
	if dc.isOpen() {
		l.channelOpen(s, rx) // a duplicate evOpen is ignored
	}
}

func (l *link) channelOpen(s *session, rx receiver) {
	if err := rx.open(); err != nil {
		l.box.post(event{kind: evDown, sess: s, err: err})
		return
	}
	l.box.post(event{kind: evOpen, sess: s})
}

// read is a connection's reader: the one goroutine that feeds its decoder,
// so fragments are reassembled in the order received, and that delivers to
// the Inbox. Blocking on a full Inbox is how backpressure reaches the
// sender natively: unread, the data channel stops the peer.
func (l *link) read(s *session, rx receiver, prev <-chan struct{}) {
	t := l.t
	defer t.wg.Done()
	defer close(s.readerDone)
	if prev != nil {
		select {
		case <-prev:
		case <-s.done:
			return
		}
	}
	down := func(err error) { l.box.post(event{kind: evDown, sess: s, err: err}) }
	dec, err := wire.NewDecoder(wire.Options{Limits: t.cfg.Limits, Stats: &l.wstats})
	if err != nil {
		down(err)
		return
	}
	defer dec.Close()
	buf := make([]byte, maxDataChannelMessage)
	bad := 0
	for {
		b, err := rx.next(buf)
		if err != nil {
			down(err)
			return
		}
		m, ok, err := dec.Feed(b)
		switch {
		case err != nil:
			l.c.decodeErrors.Add(1)
			bad++
			l.log.Debug("undecodable fragment", "session", s.id, "err", err)
			if bad >= t.cfg.MaxDecodeErrors {
				l.c.badResets.Add(1)
				down(errGarbage)
				return
			}
			continue
		case !ok:
			continue
		case m.From != l.id:
			l.c.impersonations.Add(1)
			l.log.Debug("message with another sender dropped", "from", m.From)
			continue
		case m.To != t.cfg.ID:
			l.c.misaddressed.Add(1)
			continue
		}
		select {
		case <-s.done:
			return
		default:
		}
		select {
		case t.inbox <- m:
		case <-s.done:
			return
		}
	}
}

// write is a connection's writer: it hands the queued fragments to the
// data channel in order, pausing while more than HighWater bytes wait in
// the channel's buffer.
func (l *link) write(s *session, dc dataChannel) {
	defer l.t.wg.Done()
	poll := time.NewTimer(bufferPoll)
	poll.Stop()
	defer poll.Stop()
	pace := &pacer{buffered: dc.bufferedAmount, sent: s.pc.channelBytesSent, high: l.t.cfg.HighWater}
	onStale := func() {
		l.c.staleBuffered.Add(1)
		l.log.Warn("the data channel's bufferedAmount is stale: pacing by its statistics", "session", s.id)
	}
	for {
		it, ok := s.q.pop()
		if !ok {
			select {
			case <-s.q.ready:
				continue
			case <-s.done:
				return
			}
		}
		for _, f := range it.frags {
			if pace.full() {
				l.c.writerPauses.Add(1)
				if !pace.waitRoom(s.low, s.done, poll, onStale) {
					return
				}
			}
			if err := dc.send(f); err != nil {
				l.box.post(event{kind: evDown, sess: s, err: err})
				return
			}
			pace.written += uint64(len(f))
		}
		s.q.release(it.n)
	}
}
