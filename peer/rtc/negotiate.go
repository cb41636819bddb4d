package rtc

import "fmt"

// Negotiation. Of each pair of members, the one with the lower raft id
// offers and the other answers: offers never cross, so there is no glare to
// resolve. The answering side asks for an offer with a hello when it has
// none (after HelloDelay, when its connection fails, then with backoff).

// startOffer begins a new session: a peer connection, the data channel and
// an offer relayed to the peer.
func (l *link) startOffer() {
	l.timer.Stop()
	s, err := l.newSession(l.t.nextSession())
	if err != nil {
		l.retryLater(fmt.Errorf("new peer connection: %w", err))
		return
	}
	l.sess = s
	dc, err := s.pc.createDataChannel(channelLabel)
	if err != nil {
		l.fail(fmt.Errorf("create data channel: %w", err))
		return
	}
	l.wireChannel(s, dc)
	l.sendDescription(s, kindOffer, s.pc.createOffer)
}

// retryLater schedules the next attempt after a failure that left no
// session behind.
func (l *link) retryLater(err error) {
	l.log.Warn("connection attempt failed", "err", err)
	l.c.failures.Add(1)
	l.setState(StateWaiting, 0)
	l.arm(l.t.backoff.delay(l.attempt))
	l.attempt++
}

// onHello answers the peer's request for an offer. It is honored when no
// session is under way, or when it names the current one (the peer has
// given it up); a hello naming an older session crossed our latest offer.
func (l *link) onHello(session uint64) {
	switch {
	case l.sess == nil:
	case l.sess.id == session:
		l.log.Info("connection failed", "session", session, "err", errHello)
		if l.endSession() {
			l.t.unreachable.raise(l.id, l.id)
		}
		l.c.failures.Add(1)
	default:
		return
	}
	l.startOffer()
}

// answer takes an offer: it replaces any current session.
func (l *link) answer(env envelope) {
	if l.sess != nil {
		l.log.Info("connection failed", "session", l.sess.id, "err", errReplaced, "by", env.Session)
		if l.endSession() {
			l.t.unreachable.raise(l.id, l.id)
		}
		l.c.failures.Add(1)
	}
	l.lastOffer = env.Session
	s, err := l.newSession(env.Session)
	if err != nil {
		l.retryLater(fmt.Errorf("new peer connection: %w", err))
		return
	}
	l.sess = s
	s.pc.onDataChannel(func(dc dataChannel) { l.wireChannel(s, dc) })
	err = s.pc.setRemoteDescription(kindOffer, env.SDP)
	if err != nil {
		l.fail(fmt.Errorf("set offer: %w", err))
		return
	}
	s.remoteSet = true
	l.sendDescription(s, kindAnswer, s.pc.createAnswer)
}

// sendDescription creates the local offer or answer and sets it (create),
// and relays it to the peer; the attempt then has ConnectTimeout to open.
func (l *link) sendDescription(s *session, kind string, create func() (string, error)) {
	sdp, err := create()
	if err != nil {
		l.fail(fmt.Errorf("%s: %w", kind, err))
		return
	}
	l.setState(StateConnecting, s.id)
	l.arm(l.t.cfg.ConnectTimeout)
	l.log.Debug("sent "+kind, "session", s.id)
	l.relay(envelope{Kind: kind, Session: s.id, SDP: sdp})
}

// onAnswer takes the answer to the current offer.
func (l *link) onAnswer(env envelope) {
	s := l.sess
	if s == nil || s.id != env.Session || s.remoteSet {
		l.log.Debug("stale answer ignored", "session", env.Session)
		return
	}
	err := s.pc.setRemoteDescription(kindAnswer, env.SDP)
	if err != nil {
		l.fail(fmt.Errorf("set answer: %w", err))
		return
	}
	s.remoteSet = true
	pending := s.pending
	s.pending = nil
	l.addCandidates(s, pending)
}

// onCandidates takes the peer's candidates for the current session; they
// wait if its description is not set yet.
func (l *link) onCandidates(env envelope) {
	s := l.sess
	if s == nil || s.id != env.Session {
		l.log.Debug("stale candidates ignored", "session", env.Session)
		return
	}
	if !s.remoteSet {
		room := max(0, maxCandidates-len(s.pending))
		s.pending = append(s.pending, env.Candidates[:min(room, len(env.Candidates))]...)
		return
	}
	l.addCandidates(s, env.Candidates)
}

func (l *link) addCandidates(s *session, cands []candidateInit) {
	for _, c := range cands {
		if err := s.pc.addICECandidate(c); err != nil {
			l.log.Debug("remote candidate refused", "session", s.id, "err", err)
		}
	}
}

// hello asks the offering side for an offer.
func (l *link) hello() {
	l.relay(envelope{Kind: kindHello, Session: l.lastOffer})
}

// flushCandidates relays the local candidates gathered so far, in one
// message, after the description they belong to (which was relayed when
// the session began, before any candidate event was handled).
func (l *link) flushCandidates() {
	s := l.candSess
	if len(l.cands) == 0 {
		return
	}
	cands := l.cands
	l.cands = l.cands[:0]
	if s != l.sess {
		return
	}
	for len(cands) > 0 {
		n := min(len(cands), maxCandidates)
		l.relay(envelope{Kind: kindCandidate, Session: s.id, Candidates: cands[:n:n]})
		cands = cands[n:]
	}
}

// relay sends an envelope to the peer through the signaling server. A
// failure is only logged: the connect timeout or the next hello recovers.
func (l *link) relay(env envelope) {
	if err := l.t.relay(l.name, env); err != nil {
		l.log.Debug("signaling relay failed", "kind", env.Kind, "err", err)
	}
}
