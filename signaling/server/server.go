// Package server is the tabraft signaling server: rooms of members, join and
// leave announcements, relay of WebRTC offers, answers and ICE candidates
// between members of one room, keep-alive pings, limits against bad input and
// abuse, and the HTTP side around it (the pages, the wasm build, /config.json,
// /healthz and /metrics).
//
// The protocol is in package signaling and in signaling/PROTOCOL.md.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/coder/websocket"

	"github.com/tabraft/tabraft/signaling"
)

// WebSocketPath is where the signaling WebSocket is served.
const WebSocketPath = "/ws"

// WebSocketAltPath serves the same WebSocket under a self-explaining name
// (ws://host:8080/signal), the one the command-line members use.
const WebSocketAltPath = "/signal"

// Server is a signaling server. Its Handler serves HTTP; Shutdown ends it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	hub     hub
	handler http.Handler

	// mu guards the fields below it.
	mu sync.Mutex
	// conns are the open connections (those past the upgrade).
	conns map[*conn]struct{}
	// reserved counts the connections being upgraded or open, for MaxConns.
	reserved int
	// closing is set once Shutdown has begun.
	closing bool
	// handlers counts the running WebSocket handlers, for Shutdown.
	handlers sync.WaitGroup
}

// Stats are counts of the server's state at one moment.
type Stats struct {
	Rooms   int // rooms that exist (each has at least one member)
	Members int // members in all rooms
	Conns   int // open WebSocket connections, in a room or not
}

// New returns a server configured by cfg.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:   cfg,
		log:   cfg.Logger,
		hub:   hub{rooms: make(map[string]*room)},
		conns: make(map[*conn]struct{}),
	}
	s.metrics = newMetrics(s)
	if s.handler, err = s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the server's HTTP handler: the WebSocket at WebSocketPath,
// /config.json, /healthz, /metrics, /tabraft.wasm, /wasm_exec.js and the
// pages at /.
func (s *Server) Handler() http.Handler { return s.handler }

// Stats returns the current counts.
func (s *Server) Stats() Stats {
	rooms, members := s.hub.counts()
	s.mu.Lock()
	conns := len(s.conns)
	s.mu.Unlock()
	return Stats{Rooms: rooms, Members: members, Conns: conns}
}

// Shutdown closes every WebSocket connection with "going away" (1001) and
// waits for their handlers to end, or for ctx to be done, in which case it
// drops the connections left and returns ctx's error. New upgrades are
// refused from the start of Shutdown, and /healthz answers 503. Shutdown
// does not stop the HTTP server itself: call http.Server.Shutdown too.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	s.log.Info("signaling shutdown: closing connections", "connections", len(conns))
	for _, c := range conns {
		c.closeGracefully(signaling.LeftShutdown, closedShutdown, websocket.StatusGoingAway, "server shutting down")
	}

	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.kill(signaling.LeftShutdown)
		}
		s.mu.Unlock()
		return fmt.Errorf("signaling shutdown: %d connections left: %w", s.Stats().Conns, ctx.Err())
	}
}

// shuttingDown reports whether Shutdown has begun.
func (s *Server) shuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// serveWS upgrades a request to the signaling WebSocket and serves it until
// it ends.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	log := s.log.With("remote", r.RemoteAddr)
	if ok, origin := originAllowed(r, s.cfg.AllowedOrigins); !ok {
		s.metrics.rejected.WithLabelValues(rejectOrigin).Inc()
		log.Info("signaling upgrade refused: origin not allowed", "origin", origin, "host", r.Host)
		http.Error(w, fmt.Sprintf("origin %q is not allowed to use this signaling server", origin), http.StatusForbidden)
		return
	}
	if reason := s.reserve(); reason != "" {
		s.metrics.rejected.WithLabelValues(reason).Inc()
		log.Warn("signaling upgrade refused", "reason", reason)
		msg := "too many connections, try again later"
		if reason == rejectShuttingDown {
			msg = "server shutting down"
		}
		w.Header().Set("Retry-After", "5")
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	defer s.handlers.Done()
	// The origin was checked above, with the same rules as coder/websocket
	// plus a metric and a log line.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.release(nil)
		log.Debug("signaling upgrade failed", "err", err)
		return
	}
	c := newConn(s, ws, log)
	if !s.track(c) {
		s.release(c)
		ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer s.release(c)
	log.Debug("signaling connection open")
	c.serve()
}

// reserve counts one more connection, or says why it may not be.
func (s *Server) reserve() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return rejectShuttingDown
	case s.reserved >= s.cfg.MaxConns:
		return rejectTooManyConns
	}
	s.reserved++
	s.handlers.Add(1)
	return ""
}

// track adds c to the open connections, unless Shutdown has begun.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// release forgets a connection counted by reserve (c is nil if the upgrade
// failed).
func (s *Server) release(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved--
	if c != nil {
		delete(s.conns, c)
	}
}

// originAllowed applies the origin policy to an upgrade request: no Origin
// header (not a browser), the request's own host, or a host matching one of
// the patterns (see Config.AllowedOrigins). It also returns the origin.
func originAllowed(r *http.Request, patterns []string) (bool, string) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true, ""
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false, origin
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true, origin
	}
	host := strings.ToLower(u.Host)
	schemeHost := strings.ToLower(u.Scheme) + "://" + host
	for _, p := range patterns {
		p = strings.ToLower(p)
		target := host
		if strings.Contains(p, "://") {
			target = schemeHost
		}
		if ok, _ := path.Match(p, target); ok {
			return true, origin
		}
	}
	return false, origin
}
