//go:build js

package client

import "github.com/coder/websocket"

// dialOptions turns Options into coder/websocket's dial options. In a
// browser the handshake headers and HTTP client are the browser's own.
func dialOptions(*Options) *websocket.DialOptions {
	return &websocket.DialOptions{}
}
