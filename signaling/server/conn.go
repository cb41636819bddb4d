package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/tabraft/tabraft/signaling"
)

// conn is one WebSocket connection. Three goroutines serve it: the read
// loop (serve's own goroutine, which alone handles the client's messages
// and owns room and id), the write loop (which alone writes data messages,
// from the send queue) and the ping loop.
type conn struct {
	s   *Server
	ws  *websocket.Conn
	log *slog.Logger

	// ctx ends the connection at once when cancelled (see kill): it drops
	// the TCP connection, which ends any read or write under way. Reads and
	// writes themselves get no context, which spares coder/websocket a
	// timer per message.
	ctx    context.Context
	cancel context.CancelFunc
	// writeTimer kills the connection when a write takes longer than
	// WriteTimeout.
	writeTimer *time.Timer
	// out is the send queue; the write loop drains it.
	out        *sendQueue
	writerDone chan struct{}

	limiter *rate.Limiter // messages from the client
	rejects *rate.Limiter // refused messages from the client

	// mu guards the fields below it.
	mu sync.Mutex
	// reason is why the connection ends, as announced to the room; the
	// first one given wins.
	reason signaling.LeftReason
	// closing is set once a close is queued.
	closing bool

	// Owned by the read loop.
	room *room
	id   string
	buf  bytes.Buffer
}

func newConn(s *Server, ws *websocket.Conn, log *slog.Logger) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	// The read loop reads one byte past the limit to tell a message that
	// is too big; coder/websocket's own limit stays as a backstop.
	ws.SetReadLimit(int64(s.cfg.MaxMessageBytes) + 1)
	context.AfterFunc(ctx, func() { ws.CloseNow() })
	c := &conn{
		s:          s,
		ws:         ws,
		log:        log,
		ctx:        ctx,
		cancel:     cancel,
		out:        newSendQueue(s.cfg.SendQueue, s.cfg.SendQueueBytes),
		writerDone: make(chan struct{}),
		limiter:    rate.NewLimiter(rate.Limit(s.cfg.MessageRate), s.cfg.MessageBurst),
		rejects:    rate.NewLimiter(rate.Limit(s.cfg.RejectRate), s.cfg.RejectBurst),
	}
	c.writeTimer = time.AfterFunc(time.Hour, c.writeTimedOut)
	c.writeTimer.Stop()
	return c
}

// serve runs the connection until it ends, then takes its member out of
// its room.
func (c *conn) serve() {
	defer c.cancel()
	defer c.writeTimer.Stop()
	go c.writeLoop()
	pingCtx, stopPing := context.WithCancel(c.ctx)
	pingDone := make(chan struct{})
	go func() {
		defer close(pingDone)
		c.pingLoop(pingCtx)
	}()

	c.readLoop()

	stopPing()
	<-pingDone
	reason := c.endReason()
	if c.room != nil {
		c.log.Debug("member gone", "room", c.room.name, "id", c.id, "reason", reason)
		c.s.leave(c.room, c.id, reason)
		c.room, c.id = nil, ""
	}
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if !closing {
		// Nothing more to write: end the write loop now. A queued close
		// is left to the write loop, which performs it and ends.
		c.cancel()
	}
	<-c.writerDone
	c.ws.CloseNow()
	c.log.Debug("signaling connection closed", "reason", reason)
}

// readLoop reads and handles the client's messages until the connection
// ends or must be closed.
func (c *conn) readLoop() {
	maxBytes := c.s.cfg.MaxMessageBytes
	for {
		typ, r, err := c.ws.Reader(context.Background())
		if err != nil {
			c.log.Debug("signaling read ended", "err", err)
			return
		}
		c.buf.Reset()
		if _, err := c.buf.ReadFrom(io.LimitReader(r, int64(maxBytes)+1)); err != nil {
			c.log.Debug("signaling read ended", "err", err)
			return
		}
		c.s.metrics.received.Inc()
		if c.buf.Len() > maxBytes {
			c.s.metrics.rejected.WithLabelValues(string(signaling.CodeTooBig)).Inc()
			c.fatal(signaling.CodeTooBig, fmt.Sprintf("message longer than %d bytes", maxBytes),
				closedTooBig, websocket.StatusMessageTooBig, "message too big")
			return
		}
		var closing bool
		switch {
		case !c.limiter.Allow():
			closing = c.refuse(signaling.Message{}, signaling.CodeRateLimited, fmt.Sprintf(
				"more than %g messages per second (bursts of %d); message dropped",
				c.s.cfg.MessageRate, c.s.cfg.MessageBurst))
		case typ != websocket.MessageText:
			closing = c.refuse(signaling.Message{}, signaling.CodeBadMessage,
				"binary messages are not part of the protocol: send JSON text messages")
		default:
			closing = c.handle(c.buf.Bytes())
		}
		if c.buf.Cap() > 8<<10 {
			c.buf = bytes.Buffer{} // do not keep a large buffer for a quiet connection
		}
		if closing {
			return
		}
	}
}

// handle handles one message and reports whether the connection must
// close.
func (c *conn) handle(b []byte) bool {
	m, err := signaling.DecodeRequest(b)
	if err != nil {
		var perr *signaling.Error
		if !errors.As(err, &perr) {
			perr = &signaling.Error{Code: signaling.CodeBadMessage, Text: err.Error()}
		}
		if perr.Code == signaling.CodeBadVersion {
			c.s.metrics.rejected.WithLabelValues(string(perr.Code)).Inc()
			c.fatal(perr.Code, perr.Text, closedBadVersion, websocket.StatusProtocolError, "unsupported protocol version")
			return true
		}
		return c.refuse(m, perr.Code, perr.Text)
	}
	switch {
	case m.Type == signaling.TypeJoin:
		if c.room != nil {
			return c.refuse(m, signaling.CodeAlreadyJoined, fmt.Sprintf("already in room %q as %q: leave first", c.room.name, c.id))
		}
		r, perr := c.s.join(c, m)
		if perr != nil {
			return c.refuse(m, perr.Code, perr.Text)
		}
		c.room, c.id = r, m.ID
		c.log.Debug("member joined", "room", m.Room, "id", m.ID)
	case m.Type == signaling.TypeLeave:
		if c.room == nil {
			return c.refuse(m, signaling.CodeNotJoined, "not in a room")
		}
		c.log.Debug("member left", "room", c.room.name, "id", c.id)
		c.s.leave(c.room, c.id, signaling.LeftLeave)
		c.room, c.id = nil, ""
	case m.Type == signaling.TypePing:
		c.sendMsg(signaling.Message{Type: signaling.TypePong})
	case m.Type.IsRelay():
		return c.relay(m)
	}
	return false
}

// relay passes an offer, answer or candidate to its addressee.
func (c *conn) relay(m signaling.Message) bool {
	switch {
	case c.room == nil:
		return c.refuse(m, signaling.CodeNotJoined, fmt.Sprintf("join a room before sending %s messages", m.Type))
	case m.To == c.id:
		return c.refuse(m, signaling.CodeBadTarget, fmt.Sprintf("%s addressed to its own sender", m.Type))
	}
	b, err := signaling.Encode(signaling.Message{Type: m.Type, From: c.id, To: m.To, Data: m.Data})
	if err != nil {
		return c.refuse(m, signaling.CodeBadMessage, fmt.Sprintf("data cannot be relayed: %v", err))
	}
	if !c.room.relay(m.To, b) {
		return c.refuse(m, signaling.CodeUnknownMember, fmt.Sprintf("room %q has no member %q", c.room.name, m.To))
	}
	c.s.metrics.relayed.WithLabelValues(string(m.Type)).Inc()
	return false
}

// refuse answers a refused message m with an error, and reports whether the
// connection must close because it sends too many refused messages.
func (c *conn) refuse(m signaling.Message, code signaling.ErrorCode, text string) bool {
	c.s.metrics.rejected.WithLabelValues(string(code)).Inc()
	c.log.Debug("message refused", "code", code, "text", text)
	if !c.rejects.Allow() {
		c.fatal(signaling.CodeTooManyErrors, fmt.Sprintf("too many refused messages; the last: %s: %s", code, text),
			closedTooManyErrors, websocket.StatusPolicyViolation, "too many refused messages")
		return true
	}
	c.sendMsg(signaling.Message{Type: signaling.TypeError, Code: code, Text: text, Refused: m.Type, To: m.To})
	return false
}

// fatal sends an error and closes the connection with status after it.
func (c *conn) fatal(code signaling.ErrorCode, text, closed string, status websocket.StatusCode, reason string) {
	c.log.Info("closing signaling connection", "reason", closed, "text", text)
	c.sendMsg(signaling.Message{Type: signaling.TypeError, Code: code, Text: text})
	c.closeGracefully(signaling.LeftEvicted, closed, status, reason)
}

// closeGracefully queues a WebSocket close with status and reason after the
// messages already queued, to announce the member as left for left. The
// close is counted under closed, unless closed is empty.
func (c *conn) closeGracefully(left signaling.LeftReason, closed string, status websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	if c.reason == "" {
		c.reason = left
	}
	c.mu.Unlock()
	if closed != "" {
		c.s.metrics.closed.WithLabelValues(closed).Inc()
	}
	if !c.out.push(outgoing{closeCode: status, closeReason: reason}) {
		c.kill(left)
	}
}

// kill ends the connection at once: the write loop drops the queue and the
// TCP connection, which ends the read loop. It reports whether reason is the
// connection's first reason to end.
func (c *conn) kill(reason signaling.LeftReason) bool {
	c.mu.Lock()
	first := c.reason == ""
	if first {
		c.reason = reason
	}
	c.mu.Unlock()
	c.cancel()
	return first
}

// endReason is why the connection ended.
func (c *conn) endReason() signaling.LeftReason {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason == "" {
		c.reason = signaling.LeftClosed
	}
	return c.reason
}

// sendMsg encodes and queues m.
func (c *conn) sendMsg(m signaling.Message) {
	b, err := signaling.Encode(m)
	if err != nil {
		c.log.Error("encode signaling message", "type", m.Type, "err", err)
		return
	}
	c.enqueue(b)
}

// enqueue queues b without blocking. A connection whose queue is full is
// not reading its messages: it is dropped.
func (c *conn) enqueue(b []byte) {
	if c.out.push(outgoing{data: b}) {
		return
	}
	if c.ctx.Err() != nil {
		return // already ending; its queue is not read anymore
	}
	if c.kill(signaling.LeftEvicted) {
		c.s.metrics.closed.WithLabelValues(closedSlowConsumer).Inc()
		c.log.Info("closing signaling connection: send queue full",
			"max_messages", c.s.cfg.SendQueue, "max_bytes", c.s.cfg.SendQueueBytes)
	}
}

// writeLoop writes the send queue to the connection until the connection
// ends or a queued close is done.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	for {
		o, ok := c.out.pop()
		if !ok {
			select {
			case <-c.ctx.Done():
				c.ws.CloseNow()
				return
			case <-c.out.ready:
				continue
			}
		}
		if c.ctx.Err() != nil {
			c.ws.CloseNow()
			return
		}
		if o.data != nil && !c.write(o.data) {
			c.ws.CloseNow()
			return
		}
		if o.closeCode != 0 {
			if err := c.ws.Close(o.closeCode, o.closeReason); err != nil {
				c.log.Debug("signaling close handshake", "err", err)
			}
			c.cancel()
			return
		}
	}
}

// write writes one message, and ends the connection if it cannot.
func (c *conn) write(b []byte) bool {
	c.writeTimer.Reset(c.s.cfg.WriteTimeout)
	err := c.ws.Write(context.Background(), websocket.MessageText, b)
	c.writeTimer.Stop()
	if err != nil {
		c.kill(signaling.LeftClosed) // unless the write timed out, which said so first
		return false
	}
	return true
}

// writeTimedOut ends a connection whose write took longer than
// WriteTimeout: its client does not read.
func (c *conn) writeTimedOut() {
	if c.kill(signaling.LeftEvicted) {
		c.s.metrics.closed.WithLabelValues(closedSlowConsumer).Inc()
		c.log.Info("closing signaling connection: write timed out", "timeout", c.s.cfg.WriteTimeout)
	}
}

// pingLoop pings the client every PingInterval and ends the connection if a
// pong does not come back within PingTimeout.
func (c *conn) pingLoop(ctx context.Context) {
	t := time.NewTicker(c.s.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.s.cfg.PingTimeout)
		err := c.ws.Ping(pctx)
		timedOut := pctx.Err() == context.DeadlineExceeded
		cancel()
		if err == nil {
			continue
		}
		if timedOut && c.kill(signaling.LeftTimeout) {
			c.s.metrics.closed.WithLabelValues(closedTimeout).Inc()
			c.log.Info("closing signaling connection: no pong", "timeout", c.s.cfg.PingTimeout)
		}
		return
	}
}
