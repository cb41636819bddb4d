package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tabraft/tabraft/peer/wire"
	"github.com/tabraft/tabraft/raft"
)

// State is the state of the link to one peer.
type State uint8

// Link states.
const (
	// StateWaiting: no connection. The offering side waits to retry; the
	// answering side waits for an offer (and asks for one now and then).
	StateWaiting State = iota
	// StateConnecting: a connection is being negotiated.
	StateConnecting
	// StateOpen: the data channel is open; messages flow.
	StateOpen
	// StateClosed: the peer left the room, or the transport closed.
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateWaiting:
		return "waiting"
	case StateConnecting:
		return "connecting"
	case StateOpen:
		return "open"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Errors a connection fails with.
var (
	errConnectTimeout = errors.New("connection not open within the connect timeout")
	errChannelClosed  = errors.New("data channel closed")
	errGarbage        = errors.New("too many undecodable fragments")
	errHello          = errors.New("the peer asked for a new connection")
	errReplaced       = errors.New("replaced by a new offer")
)

// evKind says what an event is.
type evKind uint8

const (
	evRelay          evKind = iota + 1 // an envelope relayed by the signaling server
	evLocalCandidate                   // a local ICE candidate was gathered
	evPCState                          // the peer connection changed state
	evOpen                             // the data channel opened (and is detached natively)
	evDown                             // the data channel closed or failed
	evLeave                            // the peer left the room, or the transport closes
)

// event is one input of a link's goroutine. Events of a connection carry it
// (sess) and are ignored once it is no longer the link's current one.
type event struct {
	kind  evKind
	sess  *session
	env   envelope
	cand  candidateInit
	state pcState
	err   error
}

// counters are a link's statistics, updated atomically.
type counters struct {
	opens, failures, queued                               atomic.Uint64
	dropNoConn, dropFull, dropUnencodable, dropOnReset    atomic.Uint64
	impersonations, misaddressed, decodeErrors, badResets atomic.Uint64
	writerPauses, staleBuffered                           atomic.Uint64
}

// link is everything about one peer of the room. One goroutine (run) owns
// the negotiation and the connection; Send reaches the open connection's
// queue through out.
type link struct {
	t       *Transport
	id      raft.NodeID
	name    string // signaling member id
	offerer bool   // this side offers: its id is the lower one
	log     *slog.Logger
	box     *mailbox
	done    chan struct{} // closed when run has returned
	prev    *link         // an earlier link to the same member, maybe still ending

	// Owned by run.
	sess       *session
	attempt    int         // failures since the last open connection
	timer      *time.Timer // retry, hello or connect timeout, by state
	lastOffer  uint64      // answering side: the last session offered
	prevReader chan struct{}
	cands      []candidateInit // local candidates not yet relayed
	candSess   *session

	// The send side, used by Send.
	encMu     sync.Mutex // serializes Send to this peer; guards enc
	enc       *wire.Encoder
	encClosed bool
	liveMu    sync.Mutex // guards live
	live      *session   // the open connection, or nil

	// For Stats.
	stateMu sync.Mutex
	state   State
	since   time.Time
	session uint64
	wstats  wire.Stats
	c       counters
}

func newLink(t *Transport, id raft.NodeID, prev *link) (*link, error) {
	l := &link{
		t:       t,
		id:      id,
		name:    memberID(id),
		offerer: t.cfg.ID < id,
		box:     newMailbox(),
		done:    make(chan struct{}),
		prev:    prev,
		since:   time.Now(),
	}
	l.log = t.log.With("peer", l.name)
	enc, err := wire.NewEncoder(wire.Options{Limits: t.cfg.Limits, Stats: &l.wstats, CompressThreshold: t.cfg.CompressThreshold})
	if err != nil {
		return nil, err
	}
	l.enc = enc
	return l, nil
}

// run is the link's goroutine: it handles events and timers until the peer
// leaves or the transport closes.
func (l *link) run() {
	defer l.t.wg.Done()
	defer close(l.done)
	if l.prev != nil {
		// The previous link's reader must be done before this link's
		// delivers anything: no message of an old connection may arrive
		// after one of a new.
		<-l.prev.done
		l.prevReader = l.prev.prevReader
		l.prev = nil
	}
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()
	defer l.finish()

	if l.offerer {
		l.startOffer()
	} else {
		l.arm(l.t.cfg.HelloDelay)
	}
	var batch []event
	for {
		select {
		case <-l.box.ready:
			batch = l.box.take(batch)
			for _, e := range batch {
				if e.kind != evLocalCandidate {
					l.flushCandidates()
				}
				if e.kind == evLeave {
					return
				}
				l.handle(e)
			}
			l.flushCandidates()
			clear(batch)
		case <-l.timer.C:
			l.onTimer()
		}
	}
}

// finish ends the link: its connection, its encoder, its state.
func (l *link) finish() {
	l.timer.Stop()
	if l.endSession() {
		l.t.unreachable.raise(l.id, l.id)
	}
	l.setState(StateClosed, 0)
	l.encMu.Lock()
	l.encClosed = true
	l.enc.Close()
	l.encMu.Unlock()
	l.t.forget(l)
	l.log.Debug("link closed")
}

func (l *link) handle(e event) {
	if e.kind == evRelay {
		l.onRelay(e.env)
		return
	}
	if e.sess == nil || e.sess != l.sess {
		return // an event of a connection given up
	}
	s := e.sess
	switch e.kind {
	case evLocalCandidate:
		if l.candSess != s {
			l.cands, l.candSess = l.cands[:0], s
		}
		l.cands = append(l.cands, e.cand)
	case evPCState:
		switch e.state {
		case pcFailed, pcDisconnected, pcClosed:
			l.fail(fmt.Errorf("peer connection %s", e.state))
		}
	case evOpen:
		if !s.open {
			l.opened(s)
		}
	case evDown:
		l.fail(e.err)
	}
}

func (l *link) onRelay(env envelope) {
	switch env.Kind {
	case kindOffer:
		if l.offerer {
			l.log.Debug("offer from the answering side ignored", "session", env.Session)
			return
		}
		l.answer(env)
	case kindHello:
		if !l.offerer {
			return
		}
		l.onHello(env.Session)
	case kindAnswer:
		if l.offerer {
			l.onAnswer(env)
		}
	case kindCandidate:
		l.onCandidates(env)
	}
}

func (l *link) onTimer() {
	switch {
	case l.sess != nil && !l.sess.open:
		l.fail(errConnectTimeout)
	case l.sess != nil:
	case l.offerer:
		l.startOffer()
	default:
		l.hello()
		l.arm(l.t.backoff.delay(l.attempt))
		l.attempt++
	}
}

// arm (re)starts the link's timer.
func (l *link) arm(d time.Duration) { l.timer.Reset(d) }

// fail gives up the current connection, reports the peer unreachable and
// schedules the next attempt after a backoff delay: a new offer on the
// offering side, a hello on the other (and a hello at once if the
// connection had been open).
func (l *link) fail(err error) {
	s := l.sess
	if s == nil {
		return
	}
	l.log.Info("connection failed", "session", s.id, "wasOpen", s.open, "err", err)
	l.endSession()
	l.c.failures.Add(1)
	l.t.unreachable.raise(l.id, l.id)
	l.setState(StateWaiting, 0)
	if !l.offerer && s.open {
		// Ask at once for a new connection in place of a lost one; after a
		// failed attempt, wait for the timer, lest two members that cannot
		// connect retry as fast as the signaling server relays.
		l.hello()
	}
	l.arm(l.t.backoff.delay(l.attempt))
	l.attempt++
}

// opened starts the reader and writer of a connection whose data channel
// has opened, and lets Send use it.
func (l *link) opened(s *session) {
	s.open = true
	l.timer.Stop()
	l.attempt = 0
	l.c.opens.Add(1)
	dc, rx := s.channel()
	s.q = newSendQueue(l.t.cfg.MaxQueueBytes)
	prev := l.prevReader
	l.prevReader = s.readerDone
	l.t.wg.Add(2)
	go l.read(s, rx, prev)
	go l.write(s, dc)
	l.liveMu.Lock()
	l.live = s
	l.liveMu.Unlock()
	l.setState(StateOpen, s.id)
	l.log.Info("connection open", "session", s.id, "after", time.Since(s.started).Round(time.Millisecond))
}

// endSession tears the current connection down, dropping what waits to be
// sent, and reports whether it was open. Closing runs on its own
// goroutine: it may take a while natively.
func (l *link) endSession() bool {
	s := l.sess
	if s == nil {
		return false
	}
	l.sess = nil
	l.timer.Stop()
	if s.q != nil {
		l.liveMu.Lock()
		if l.live == s {
			l.live = nil
		}
		l.liveMu.Unlock()
		l.c.dropOnReset.Add(uint64(s.q.close()))
	}
	close(s.done)
	dc, rx := s.shut()
	if rx != nil {
		rx.close()
	}
	l.t.wg.Add(1)
	go func() {
		defer l.t.wg.Done()
		if dc != nil {
			dc.close()
		}
		s.pc.close()
	}()
	return s.open
}

func (l *link) setState(st State, session uint64) {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	if l.state != st {
		l.state, l.since = st, time.Now()
	}
	l.session = session
}

// liveSession returns the open connection, or nil. Only its fields set
// before it opened (pc, q, dc) may be used outside the link's goroutine.
func (l *link) liveSession() *session {
	l.liveMu.Lock()
	defer l.liveMu.Unlock()
	return l.live
}

// send encodes m and queues it for the open connection. It reports false
// when m was dropped for want of a connection or of room in the queue.
func (l *link) send(m raft.Message) bool {
	l.encMu.Lock()
	defer l.encMu.Unlock()
	s := l.liveSession()
	switch {
	case s == nil || l.encClosed:
		l.c.dropNoConn.Add(1)
		return false
	case !s.q.fits(sizeHint(m)):
		// Spare the encoding of a message that would not fit.
		l.c.dropFull.Add(1)
		return false
	}
	frags, err := l.enc.Encode(m)
	if err != nil {
		// A bug of the caller or a limit set too low: reporting the peer
		// would not help.
		l.c.dropUnencodable.Add(1)
		l.log.Error("message not sent", "err", err)
		return true
	}
	n := 0
	for _, f := range frags {
		n += len(f)
	}
	if !s.q.push(frags, n) {
		l.c.dropFull.Add(1)
		return false
	}
	l.c.queued.Add(1)
	return true
}

// sizeHint is about the most bytes m can take encoded (it would take less
// compressed): its byte fields, plus a generous allowance for the varints.
func sizeHint(m raft.Message) int {
	n := 96 + len(m.Context)
	for i := range m.Entries {
		n += 24 + len(m.Entries[i].Data)
	}
	if c := m.Chunk; c != nil {
		cs := &c.Meta.ConfState
		n += 64 + len(c.Data) + 10*(len(cs.Voters)+len(cs.Learners)+len(cs.VotersOutgoing)+len(cs.LearnersNext))
	}
	return n + n/wire.MaxFragmentSize*16
}
