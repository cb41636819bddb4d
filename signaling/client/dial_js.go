//go:build js

package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hack-pad/safejs"
)

// Options tune Dial. The zero value is ready to use. (Natively Options
// also has the handshake's HTTP header and client; in a browser the
// browser makes the handshake.)
type Options struct {
	// ReadLimit is the longest message accepted from the server, in bytes.
	// Zero means 1 MiB; negative, no limit. A longer message ends the
	// connection with an error.
	ReadLimit int64
	// Buffer is how many received messages wait for Recv. Zero means 256.
	// The browser keeps reading while the buffer is full: up to Buffer
	// more messages (and, with a read limit, 4 × ReadLimit bytes) wait in
	// a second queue, and when that overflows the client closes the
	// connection with an error. Call Recv promptly.
	Buffer int
}

// StatusCode is a WebSocket close code.
type StatusCode int

// CloseError is the closing handshake's code and reason that ended the
// connection (the server's, or the client's own).
type CloseError struct {
	Code   StatusCode
	Reason string
}

func (e CloseError) Error() string {
	return fmt.Sprintf("closed with status %d and reason %q", e.Code, e.Reason)
}

// CloseStatus returns the WebSocket close code in err, or -1 if there is
// none.
func CloseStatus(err error) StatusCode {
	var ce CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

const (
	// statusAbnormalClosure is the code a browser reports for a
	// connection lost without a closing handshake; it is never sent.
	statusAbnormalClosure = 1006
	// maxCloseReason is the most bytes of a close reason.
	maxCloseReason = 123
	// closeTimeout bounds the wait for the server's closing handshake.
	closeTimeout = 5 * time.Second
	// maxBufferedAmount is how many bytes may wait in the browser's send
	// buffer before write waits for it to drain.
	maxBufferedAmount = 1 << 20
	// readyStateOpen is WebSocket.OPEN.
	readyStateOpen = 1
)

// errNotOpened is returned (wrapped) by Dial when the browser's WebSocket
// fails to open.
var errNotOpened = errors.New("the WebSocket did not open (the browser does not say why: " +
	"server down, refused origin, HTTP error status or TLS failure; see the browser's console)")

// jsConn is a browser WebSocket. Its event handlers never block: they copy
// what they receive to Go and queue it for read. (They take mu, which is
// never held across a wait.)
type jsConn struct {
	ws        safejs.Value
	encoder   safejs.Value  // a TextEncoder, to measure and copy text messages
	limit     int64         // longest message in bytes; negative: none
	maxQueued int           // most messages waiting for read
	maxQBytes int64         // most bytes waiting for read; 0: no bound
	opened    chan struct{} // closed by the open event
	closed    chan struct{} // closed by the close event, or by closeNow
	wake      chan struct{} // signalled when queue or end changes

	mu         sync.Mutex
	funcs      []safejs.Func // the event handlers, until released
	queue      []jsMessage   // received, not yet read
	qBytes     int64         // bytes in queue
	end        error         // why the connection ended: read returns it after the queue
	sawError   bool          // an error event came
	isOpen     bool          // opened is closed
	isClosed   bool          // closed is closed
	isReleased bool          // the handlers are released
}

// jsMessage is one received message.
type jsMessage struct {
	binary bool
	b      []byte // nil if binary: the read loop refuses binary messages
	n      int64  // length in bytes
}

// dialConn opens a browser WebSocket. It must not be called from a
// JavaScript callback: it waits for the browser's open event.
func dialConn(ctx context.Context, url string, _ *Options, limit int64, buffer int) (conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dial signaling server %s: %w", url, err)
	}
	c, err := newJSConn(url, limit, buffer)
	if err != nil {
		return nil, fmt.Errorf("dial signaling server %s: %w", url, err)
	}
	select {
	case <-c.opened:
		return c, nil
	case <-c.closed:
		select {
		case <-c.opened: // opened, then closed at once: read reports it
			return c, nil
		default:
		}
		c.release()
		return nil, fmt.Errorf("dial signaling server %s: %w", url, c.endErr())
	case <-ctx.Done():
		c.closeNow()
		return nil, fmt.Errorf("dial signaling server %s: %w", url, ctx.Err())
	}
}

// newJSConn creates the WebSocket and installs its handlers.
func newJSConn(url string, limit int64, buffer int) (*jsConn, error) {
	ctor, err := safejs.Global().Get("WebSocket")
	if err != nil || ctor.Type() != safejs.TypeFunction {
		return nil, errors.New("this JavaScript environment has no WebSocket")
	}
	encCtor, err := safejs.Global().Get("TextEncoder")
	if err != nil || encCtor.Type() != safejs.TypeFunction {
		return nil, errors.New("this JavaScript environment has no TextEncoder")
	}
	encoder, err := encCtor.New()
	if err != nil {
		return nil, fmt.Errorf("new TextEncoder: %w", err)
	}
	ws, err := ctor.New(webSocketURL(url))
	if err != nil {
		return nil, fmt.Errorf("new WebSocket: %w", err)
	}
	c := &jsConn{
		ws:        ws,
		encoder:   encoder,
		limit:     limit,
		maxQueued: buffer,
		opened:    make(chan struct{}),
		closed:    make(chan struct{}),
		wake:      make(chan struct{}, 1),
	}
	if limit > 0 {
		c.maxQBytes = 4 * limit
	}
	if err := ws.Set("binaryType", "arraybuffer"); err != nil {
		c.closeNow()
		return nil, fmt.Errorf("set binaryType: %w", err)
	}
	handlers := []struct {
		event string
		fn    func(ev safejs.Value)
	}{
		{"onopen", func(safejs.Value) { c.onOpen() }},
		{"onmessage", c.onMessage},
		{"onerror", func(safejs.Value) { c.onError() }},
		{"onclose", c.onClose},
	}
	for _, h := range handlers {
		fn, err := safejs.FuncOf(func(_ safejs.Value, args []safejs.Value) any {
			if len(args) > 0 {
				h.fn(args[0])
			}
			return nil
		})
		if err == nil {
			c.funcs = append(c.funcs, fn)
			err = ws.Set(h.event, fn)
		}
		if err != nil {
			c.closeNow()
			return nil, fmt.Errorf("set WebSocket %s: %w", h.event, err)
		}
	}
	return c, nil
}

// webSocketURL turns an http(s) URL into a ws(s) one; older browsers
// accept only the latter.
func webSocketURL(url string) string {
	switch {
	case strings.HasPrefix(url, "http://"):
		return "ws://" + strings.TrimPrefix(url, "http://")
	case strings.HasPrefix(url, "https://"):
		return "wss://" + strings.TrimPrefix(url, "https://")
	}
	return url
}

// notify wakes read. Never blocks.
func (c *jsConn) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// endWith ends the connection with err, unless it has ended already, and
// starts the closing handshake with code and reason. Called with c.mu held.
func (c *jsConn) endWith(err error, code StatusCode, reason string) {
	if c.end != nil {
		return
	}
	c.end = err
	c.notify()
	c.closeSocket(code, reason)
}

// closeSocket starts the closing handshake. A browser accepts only code
// 1000 and 3000–4999: another code 1xxx is sent as 4xxx (1009, message too
// big, as 4009). Code 0 closes without a code.
func (c *jsConn) closeSocket(code StatusCode, reason string) {
	if code == 0 {
		_, _ = c.ws.Call("close")
		return
	}
	if code > 1000 && code < 2000 {
		code += 3000
	}
	for len(reason) > maxCloseReason {
		_, size := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-size]
	}
	// Closing a closed socket does nothing; a bad code or reason throws,
	// and the connection has ended anyway.
	_, _ = c.ws.Call("close", int(code), reason)
}

func (c *jsConn) onOpen() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isOpen {
		c.isOpen = true
		close(c.opened)
	}
}

func (c *jsConn) onError() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sawError = true
}

// onMessage copies the message to Go and queues it, or ends the
// connection if it is too long or read is too far behind.
func (c *jsConn) onMessage(ev safejs.Value) {
	msg, n, err := c.copyMessage(ev)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.end != nil {
		return
	}
	switch {
	case err != nil:
		c.endWith(fmt.Errorf("read message: %w", err), 1011, "unreadable message")
	case c.limit >= 0 && n > c.limit:
		c.endWith(fmt.Errorf("message of %d bytes exceeds the read limit of %d bytes", n, c.limit), 1009, "message too big")
	case len(c.queue) >= c.maxQueued || (c.maxQBytes > 0 && c.qBytes+n > c.maxQBytes):
		c.endWith(fmt.Errorf("client fell behind: %d messages (%d bytes) waiting to be received", len(c.queue), c.qBytes),
			1008, "client too slow")
	default:
		c.queue = append(c.queue, msg)
		c.qBytes += n
		c.notify()
	}
}

// copyMessage copies a message event's data to Go, unless it is longer
// than the read limit or binary; n is its length in bytes.
func (c *jsConn) copyMessage(ev safejs.Value) (msg jsMessage, n int64, err error) {
	data, err := ev.Get("data")
	if err != nil {
		return msg, 0, err
	}
	if data.Type() != safejs.TypeString {
		// An ArrayBuffer: the read loop refuses binary messages, so
		// only its length matters.
		l, err := data.Get("byteLength")
		if err != nil {
			return msg, 0, err
		}
		bl, err := l.Int()
		return jsMessage{binary: true, n: int64(bl)}, int64(bl), err
	}
	u8, err := c.encoder.Call("encode", data)
	if err != nil {
		return msg, 0, err
	}
	l, err := u8.Length()
	if err != nil {
		return msg, 0, err
	}
	if c.limit >= 0 && int64(l) > c.limit {
		return msg, int64(l), nil
	}
	b := make([]byte, l)
	if _, err := safejs.CopyBytesToGo(b, u8); err != nil {
		return msg, 0, err
	}
	return jsMessage{b: b, n: int64(l)}, int64(l), nil
}

// onClose ends the connection with the close event's code and reason, and
// releases the handlers.
func (c *jsConn) onClose(ev safejs.Value) {
	code, reason := -1, ""
	if v, err := ev.Get("code"); err == nil {
		if n, err := v.Int(); err == nil {
			code = n
		}
	}
	if v, err := ev.Get("reason"); err == nil {
		reason, _ = v.String()
	}
	c.mu.Lock()
	var err error
	switch {
	case !c.isOpen:
		err = fmt.Errorf("%w (close code %d)", errNotOpened, code)
	case code == statusAbnormalClosure || code < 0:
		err = fmt.Errorf("connection lost without a closing handshake (close code %d, error event %t)", code, c.sawError)
	default:
		err = CloseError{Code: StatusCode(code), Reason: reason}
	}
	if c.end == nil {
		c.end = err
		c.notify()
	}
	c.markClosed()
	c.mu.Unlock()
	c.release()
}

// markClosed closes c.closed once. Called with c.mu held.
func (c *jsConn) markClosed() {
	if !c.isClosed {
		c.isClosed = true
		close(c.closed)
	}
}

// release detaches and frees the event handlers, once.
func (c *jsConn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isReleased {
		return
	}
	c.isReleased = true
	for _, ev := range []string{"onopen", "onmessage", "onerror", "onclose"} {
		_ = c.ws.Set(ev, nil)
	}
	for _, fn := range c.funcs {
		fn.Release()
	}
	c.funcs = nil
}

func (c *jsConn) endErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.end
}

func (c *jsConn) read() (bool, []byte, error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			m := c.queue[0]
			c.queue[0] = jsMessage{}
			c.queue = c.queue[1:]
			c.qBytes -= m.n
			c.mu.Unlock()
			return m.binary, m.b, nil
		}
		end := c.end
		c.mu.Unlock()
		if end != nil {
			return false, nil, end
		}
		<-c.wake
	}
}

func (c *jsConn) write(ctx context.Context, b []byte) error {
	if err := c.waitBuffered(ctx); err != nil {
		return err
	}
	// Signaling messages are JSON, hence UTF-8; invalid bytes would
	// become U+FFFD in the JavaScript string.
	if _, err := c.ws.Call("send", string(b)); err != nil {
		return fmt.Errorf("WebSocket send: %w", err)
	}
	return nil
}

// waitBuffered returns when the socket is open and its send buffer below
// maxBufferedAmount. The browser has no event for a draining buffer: it
// polls, more slowly as the wait goes on.
func (c *jsConn) waitBuffered(ctx context.Context) error {
	delay := 5 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.endErr(); err != nil {
			return fmt.Errorf("connection ended: %w", err)
		}
		state, err := c.ws.Get("readyState")
		if err != nil {
			return err
		}
		if s, err := state.Int(); err != nil || s != readyStateOpen {
			return errors.New("the WebSocket is closing")
		}
		amount, err := c.ws.Get("bufferedAmount")
		if err != nil {
			return err
		}
		n, err := amount.Int()
		if err != nil {
			return err
		}
		if n < maxBufferedAmount {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-c.closed:
		case <-ctx.Done():
		}
		t.Stop()
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// close starts the closing handshake and waits for its end, closeTimeout
// at most.
func (c *jsConn) close(code StatusCode, reason string) error {
	c.mu.Lock()
	// If the connection has ended already (closed by the server, or a
	// refused message), the handshake has been started, if it could be.
	c.endWith(fmt.Errorf("closed by the client with status %d", code), code, reason)
	c.mu.Unlock()
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-c.closed:
		return nil
	case <-t.C:
		c.closeNow()
		return fmt.Errorf("the server did not finish the closing handshake within %v", closeTimeout)
	}
}

// closeNow ends the connection at once. A browser cannot drop a WebSocket:
// the closing handshake starts, without a code, and is not waited for.
func (c *jsConn) closeNow() {
	c.mu.Lock()
	c.endWith(errors.New("connection dropped by the client"), 0, "")
	c.markClosed()
	c.mu.Unlock()
	c.release()
}
