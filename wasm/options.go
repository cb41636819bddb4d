package wasm

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tabraft/tabraft/peer"
	"github.com/tabraft/tabraft/raft"
)

// Defaults of JoinOptions (web/tabraft.d.ts).
const (
	DefaultRoom         = "demo"
	DefaultTargetVoters = 5
	DefaultDeadTimeout  = 5 * time.Second
	// minDeadTimeout is ten heartbeat intervals at the node's default tick
	// (peer.Start refuses less).
	minDeadTimeout = 500 * time.Millisecond
)

// Options configure a member: what join() takes, with defaults applied.
type Options struct {
	// Signal is the signaling WebSocket URL.
	Signal string
	// Room is the cluster's room.
	Room string
	// ID is the member id (None: chosen by the caller's environment).
	ID raft.NodeID
	// Persist keeps the log in durable storage (IndexedDB in a tab).
	Persist bool
	// TargetVoters is the number of voters the cluster aims for.
	TargetVoters int
	// DeadTimeout is how long a member may stay silent before removal.
	DeadTimeout time.Duration
	// LogLevel filters the member's logs.
	LogLevel slog.Level
}

// withDefaults fills the zero fields and checks the others.
func (o Options) withDefaults() (Options, error) {
	if o.Room == "" {
		o.Room = DefaultRoom
	}
	if o.TargetVoters == 0 {
		o.TargetVoters = DefaultTargetVoters
	}
	if o.TargetVoters < 1 || o.TargetVoters > 15 || o.TargetVoters%2 == 0 {
		return o, fmt.Errorf("targetVoters must be odd, 1 to 15, not %d", o.TargetVoters)
	}
	if o.DeadTimeout == 0 {
		o.DeadTimeout = DefaultDeadTimeout
	}
	if o.DeadTimeout < minDeadTimeout {
		return o, fmt.Errorf("deadTimeoutMs must be at least %d, not %d", minDeadTimeout.Milliseconds(), o.DeadTimeout.Milliseconds())
	}
	if o.Signal == "" {
		return o, errors.New("no signaling URL")
	}
	if o.ID == raft.None {
		return o, errors.New("no member id")
	}
	return o, nil
}

// DefaultSignalURL is the signaling WebSocket of the page's own server:
// ws://host/ws, or wss:// for a page served over https.
func DefaultSignalURL(protocol, host string) string {
	scheme := "ws"
	if strings.EqualFold(protocol, "https:") {
		scheme = "wss"
	}
	return scheme + "://" + host + "/ws"
}

// ParseLogLevel reads "debug", "info", "warn" or "error" ("" is info).
func ParseLogLevel(s string) (slog.Level, error) {
	switch s {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logLevel must be debug, info, warn or error, not %q", s)
}

// IDKey is the sessionStorage key of this tab's member id in room.
func IDKey(room string) string { return "tabraft:id:" + room }

// LockName is the Web Lock a running member holds, so that a duplicated tab
// (which copies sessionStorage) does not run the same member twice.
func LockName(room string, id raft.NodeID) string {
	return "tabraft:member:" + room + ":" + peer.FormatID(id)
}
