//go:build !js

package client

import "github.com/coder/websocket"

// dialOptions turns Options into coder/websocket's dial options.
func dialOptions(opts *Options) *websocket.DialOptions {
	return &websocket.DialOptions{HTTPHeader: opts.HTTPHeader, HTTPClient: opts.HTTPClient}
}
