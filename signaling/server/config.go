package server

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/tabraft/tabraft/signaling"
)

// Config configures a Server. Zero fields take the defaults listed with
// them; negative numbers are refused by New.
type Config struct {
	// Logger receives the server's logs. Nil discards them.
	Logger *slog.Logger

	// AllowedOrigins lists the origins, besides the server's own, whose
	// pages may open the signaling WebSocket. A pattern is matched with
	// path.Match, case-insensitively, against the origin's host[:port], or
	// against scheme://host[:port] when it holds "://". Examples:
	// "app.example.org", "*.example.org", "https://example.org:8443".
	// "*" allows every origin. Requests without an Origin header (non-browser
	// clients) are always allowed.
	AllowedOrigins []string

	// ICEServers are the STUN/TURN servers handed to the pages (in
	// /config.json) and to members (in the welcome message).
	ICEServers []signaling.ICEServer

	// MaxMessageBytes is the longest message a client may send. Default
	// 64 KiB: a session description with many candidates fits.
	MaxMessageBytes int
	// MaxRooms is the most rooms that may exist at once. Default 10,000.
	MaxRooms int
	// MaxMembersPerRoom is the most members of one room. Default 64.
	MaxMembersPerRoom int
	// MaxConns is the most WebSocket connections at once, in rooms or not.
	// Default 10,000.
	MaxConns int

	// MessageRate is the sustained number of messages per second one
	// connection may send; MessageBurst how many it may send at once.
	// Defaults 50 and 200 (ICE gathering sends candidates in bursts).
	MessageRate  float64
	MessageBurst int
	// RejectRate and RejectBurst bound the refused messages of one
	// connection: past them the connection is closed. Defaults 1 per
	// second and 20.
	RejectRate  float64
	RejectBurst int

	// SendQueue is how many outgoing messages may wait for one connection,
	// and SendQueueBytes how many bytes. A connection whose queue is full
	// does not read its messages fast enough and is closed. Defaults 256
	// and 1 MiB.
	SendQueue      int
	SendQueueBytes int
	// WriteTimeout bounds the writing of one message. Default 10 s.
	WriteTimeout time.Duration
	// PingInterval is the time between keep-alive pings; a connection that
	// has not answered a ping within PingTimeout is closed and its member
	// announced as left. Defaults 5 s and 3 s: a dead connection is found
	// within 8 s.
	PingInterval time.Duration
	PingTimeout  time.Duration

	// Pages are the static pages served at /. Nil serves none.
	Pages fs.FS
	// Wasm holds the WebAssembly build served at /tabraft.wasm: the file
	// "tabraft.wasm" and optionally "tabraft.wasm.br" and "tabraft.wasm.gz",
	// precompressed. Nil serves none.
	Wasm fs.FS
	// WasmExecJS is Go's wasm_exec.js loader, served at /wasm_exec.js. Nil
	// serves none.
	WasmExecJS []byte
}

// withDefaults returns c with its zero fields set to their defaults, or an
// error for a field that makes no sense.
func (c Config) withDefaults() (Config, error) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ICEServers == nil {
		c.ICEServers = []signaling.ICEServer{} // encoded as [], not left out
	}
	var errs []error
	intDefault := func(name string, v *int, def int) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			errs = append(errs, fmt.Errorf("%s is %d; it must be positive", name, *v))
		}
	}
	intDefault("MaxMessageBytes", &c.MaxMessageBytes, 64<<10)
	intDefault("MaxRooms", &c.MaxRooms, 10_000)
	intDefault("MaxMembersPerRoom", &c.MaxMembersPerRoom, 64)
	intDefault("MaxConns", &c.MaxConns, 10_000)
	intDefault("MessageBurst", &c.MessageBurst, 200)
	intDefault("RejectBurst", &c.RejectBurst, 20)
	intDefault("SendQueue", &c.SendQueue, 256)
	intDefault("SendQueueBytes", &c.SendQueueBytes, 1<<20)
	floatDefault := func(name string, v *float64, def float64) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			errs = append(errs, fmt.Errorf("%s is %g; it must be positive", name, *v))
		}
	}
	floatDefault("MessageRate", &c.MessageRate, 50)
	floatDefault("RejectRate", &c.RejectRate, 1)
	durDefault := func(name string, v *time.Duration, def time.Duration) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			errs = append(errs, fmt.Errorf("%s is %v; it must be positive", name, *v))
		}
	}
	durDefault("WriteTimeout", &c.WriteTimeout, 10*time.Second)
	durDefault("PingInterval", &c.PingInterval, 5*time.Second)
	durDefault("PingTimeout", &c.PingTimeout, 3*time.Second)
	if c.MaxMessageBytes < 512 {
		errs = append(errs, fmt.Errorf("MaxMessageBytes is %d; below 512 bytes not even a join fits safely", c.MaxMessageBytes))
	}
	for _, p := range c.AllowedOrigins {
		if _, err := path.Match(p, ""); err != nil || strings.TrimSpace(p) == "" {
			errs = append(errs, fmt.Errorf("allowed origin pattern %q is not a valid pattern", p))
		}
	}
	for _, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			errs = append(errs, errors.New("an ICE server has no URL"))
		}
		for _, u := range s.URLs {
			if err := ValidateICEURL(u); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("signaling server config: %w", err)
	}
	return c, nil
}

// ValidateICEURL checks that u is a STUN or TURN URL (RFC 7064, RFC 7065):
// stun:, stuns:, turn: or turns: followed by a host.
func ValidateICEURL(u string) error {
	scheme, rest, ok := strings.Cut(u, ":")
	switch {
	case !ok || rest == "":
		return fmt.Errorf("ICE server URL %q: want stun:, stuns:, turn: or turns: and a host", u)
	case scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns":
		return fmt.Errorf("ICE server URL %q: scheme %q is not stun, stuns, turn or turns", u, scheme)
	case strings.ContainsAny(rest, " \t\r\n\"'<>"):
		return fmt.Errorf("ICE server URL %q holds a space or a quote", u)
	}
	return nil
}
