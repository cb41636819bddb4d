// Package client is a Go client of the tabraft signaling protocol over
// WebSocket. Native members and the signaling server's tests use it, with
// github.com/coder/websocket (dial_native.go); under GOOS=js it uses the
// browser's own WebSocket (dial_js.go), which keeps net/http out of the
// WebAssembly build.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tabraft/tabraft/signaling"
)

// conn is one WebSocket connection, as the Client uses it. Dial's
// platform half (dialConn) makes it.
type conn interface {
	// read returns the next message and whether it was binary. An error
	// ends the connection; read is called from one goroutine at a time.
	read() (binary bool, b []byte, err error)
	// write sends b as one text message.
	write(ctx context.Context, b []byte) error
	// close closes the connection with a closing handshake and waits for
	// it, a few seconds at most.
	close(code StatusCode, reason string) error
	// closeNow drops the connection; a read under way returns.
	closeNow()
}

// The close codes the client sends (RFC 6455, section 7.4.1).
const (
	statusNormalClosure   StatusCode = 1000
	statusProtocolError   StatusCode = 1002
	statusUnsupportedData StatusCode = 1003
)

// defaultReadLimit is Options.ReadLimit's default.
const defaultReadLimit = 1 << 20

// defaultBuffer is Options.Buffer's default.
const defaultBuffer = 256

// Client is one connection to a signaling server. Send and Recv may be
// called from different goroutines; Recv from one goroutine at a time.
type Client struct {
	ws conn

	in   chan signaling.Message
	done chan struct{} // closed when the read loop has ended
	err  error         // why the read loop ended; set before done is closed

	stop      context.CancelFunc // ends the read loop
	closeOnce sync.Once
	closeErr  error
	// closedLocally is set by Close and CloseNow, so that the read loop
	// reports ErrClosed rather than whichever error the closing caused.
	closedLocally atomic.Bool
}

// Dial connects to the signaling WebSocket at url (ws://, wss://, http:// or
// https://). The context bounds the handshake only.
func Dial(ctx context.Context, url string, opts *Options) (*Client, error) {
	if opts == nil {
		opts = &Options{}
	}
	limit := opts.ReadLimit
	if limit == 0 {
		limit = defaultReadLimit
	}
	buffer := opts.Buffer
	if buffer <= 0 {
		buffer = defaultBuffer
	}
	ws, err := dialConn(ctx, url, opts, limit, buffer)
	if err != nil {
		return nil, err
	}
	readCtx, stop := context.WithCancel(context.Background())
	// Stopping drops the connection, which ends a read under way; reads
	// themselves get no context, which spares a timer per message.
	context.AfterFunc(readCtx, ws.closeNow)
	c := &Client{
		ws:   ws,
		in:   make(chan signaling.Message, buffer),
		done: make(chan struct{}),
		stop: stop,
	}
	go c.readLoop(readCtx)
	return c, nil
}

// HandshakeError is returned by Dial when the server refuses the WebSocket
// upgrade with an HTTP status (403 for a refused origin, 503 when full).
// Under GOOS=js the browser hides the status and Dial returns a plain error.
type HandshakeError struct {
	StatusCode int
	Err        error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("signaling handshake refused with HTTP status %d: %v", e.StatusCode, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// readLoop reads messages into c.in until the connection ends. Reading all
// the time is also what answers the server's pings.
func (c *Client) readLoop(ctx context.Context) {
	defer close(c.done)
	defer close(c.in)
	for {
		binary, b, err := c.ws.read()
		if err != nil {
			if c.closedLocally.Load() {
				err = ErrClosed
			}
			c.err = fmt.Errorf("signaling connection: %w", err)
			return
		}
		if binary {
			c.err = errors.New("signaling connection: server sent a binary message")
			c.ws.close(statusUnsupportedData, "binary message")
			return
		}
		m, err := signaling.Decode(b)
		if err != nil {
			c.err = fmt.Errorf("signaling connection: bad message from server: %w", err)
			c.ws.close(statusProtocolError, "bad message")
			return
		}
		select {
		case c.in <- m:
		case <-ctx.Done():
			c.err = fmt.Errorf("signaling connection: %w", ErrClosed)
			return
		}
	}
}

// ErrClosed is the error (wrapped) that Recv returns after Close or
// CloseNow, once the buffered messages are read.
var ErrClosed = errors.New("closed by the client")

// Recv returns the next message from the server. After the connection ends
// it returns the messages still buffered, then the reason the connection
// ended (see CloseStatus).
func (c *Client) Recv(ctx context.Context) (signaling.Message, error) {
	select {
	case m, ok := <-c.in:
		if !ok {
			return signaling.Message{}, c.err
		}
		return m, nil
	case <-ctx.Done():
		return signaling.Message{}, fmt.Errorf("receive signaling message: %w", ctx.Err())
	}
}

// Send sends m, setting its version.
func (c *Client) Send(ctx context.Context, m signaling.Message) error {
	b, err := signaling.Encode(m)
	if err != nil {
		return err
	}
	return c.SendRaw(ctx, b)
}

// SendRaw sends b as one text message, unchecked. It is meant for tests of
// servers that must refuse bad input.
func (c *Client) SendRaw(ctx context.Context, b []byte) error {
	if err := c.ws.write(ctx, b); err != nil {
		return fmt.Errorf("send signaling message: %w", err)
	}
	return nil
}

// Join joins room as member id and waits for the answer. It returns the
// welcome message (the other members and the ICE servers), or the server's
// refusal as a *signaling.Error. Messages received before the answer (left
// over from a room left earlier) are dropped.
func (c *Client) Join(ctx context.Context, room, id string) (signaling.Message, error) {
	if err := c.Send(ctx, signaling.Message{Type: signaling.TypeJoin, Room: room, ID: id}); err != nil {
		return signaling.Message{}, err
	}
	for {
		m, err := c.Recv(ctx)
		if err != nil {
			return signaling.Message{}, fmt.Errorf("join room %q as %q: %w", room, id, err)
		}
		switch {
		case m.Type == signaling.TypeWelcome:
			return m, nil
		case m.Type == signaling.TypeError && (m.Refused == signaling.TypeJoin || m.Refused == ""):
			return signaling.Message{}, &signaling.Error{Code: m.Code, Text: m.Text}
		}
	}
}

// Leave leaves the room. The connection stays open and may join again.
func (c *Client) Leave(ctx context.Context) error {
	return c.Send(ctx, signaling.Message{Type: signaling.TypeLeave})
}

// Relay sends an offer, answer or candidate (typ) with data to member to.
func (c *Client) Relay(ctx context.Context, typ signaling.Type, to string, data json.RawMessage) error {
	if !typ.IsRelay() {
		return fmt.Errorf("relay: %q is not a relayed message type", typ)
	}
	return c.Send(ctx, signaling.Message{Type: typ, To: to, Data: data})
}

// Done is closed when the connection has ended and Recv has nothing more
// to read from it except the buffered messages.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, once Done is closed.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close closes the connection with a normal closure and waits, a few
// seconds at most, for the server to acknowledge it.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closedLocally.Store(true)
		c.closeErr = c.ws.close(statusNormalClosure, "")
		c.stop()
		<-c.done
	})
	if c.closeErr != nil {
		return fmt.Errorf("close signaling connection: %w", c.closeErr)
	}
	return nil
}

// CloseNow drops the connection without a closing handshake, as a crashed
// tab would. (A browser cannot drop a WebSocket: under GOOS=js CloseNow
// starts the closing handshake and does not wait for it.)
func (c *Client) CloseNow() {
	c.closeOnce.Do(func() {
		c.closedLocally.Store(true)
		c.ws.closeNow()
		c.stop()
		<-c.done
	})
}
