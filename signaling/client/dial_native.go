//go:build !js

package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/coder/websocket"
)

// Options tune Dial. The zero value is ready to use.
type Options struct {
	// HTTPHeader is added to the WebSocket handshake request (for example
	// an Origin header). Under GOOS=js, where the browser sets the
	// headers, Options has no such field.
	HTTPHeader http.Header
	// HTTPClient makes the handshake request (for example with a TLS
	// configuration). Nil means http.DefaultClient. Not under GOOS=js.
	HTTPClient *http.Client
	// ReadLimit is the longest message accepted from the server, in bytes.
	// Zero means 1 MiB.
	ReadLimit int64
	// Buffer is how many received messages wait for Recv. Zero means 256.
	// While the buffer is full the client stops reading, stops answering
	// the server's keep-alive pings and is soon dropped by the server: call
	// Recv promptly.
	Buffer int
}

// StatusCode is a WebSocket close code.
type StatusCode = websocket.StatusCode

// CloseStatus returns the WebSocket close code in err, or -1 if there is
// none (a convenience over websocket.CloseStatus).
func CloseStatus(err error) StatusCode { return websocket.CloseStatus(err) }

// dialConn opens the WebSocket with coder/websocket.
func dialConn(ctx context.Context, url string, opts *Options, limit int64, _ int) (conn, error) {
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: opts.HTTPHeader, HTTPClient: opts.HTTPClient})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Err: err}
		}
		return nil, fmt.Errorf("dial signaling server %s: %w", url, err)
	}
	ws.SetReadLimit(limit)
	return nativeConn{ws}, nil
}

// nativeConn is a coder/websocket connection.
type nativeConn struct{ ws *websocket.Conn }

func (c nativeConn) read() (bool, []byte, error) {
	// No context: Client's read loop ends a read with closeNow, which
	// spares a timer per message.
	typ, b, err := c.ws.Read(context.Background())
	return typ != websocket.MessageText, b, err
}

func (c nativeConn) write(ctx context.Context, b []byte) error {
	return c.ws.Write(ctx, websocket.MessageText, b)
}

func (c nativeConn) close(code StatusCode, reason string) error { return c.ws.Close(code, reason) }

func (c nativeConn) closeNow() { c.ws.CloseNow() }
