//go:build !js

package rtc

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/signaling/server"
)

// waitTimeout bounds every wait of the tests: generous, since a wait that
// succeeds returns at once.
const waitTimeout = 15 * time.Second

// testLogger logs to stderr when TABRAFT_TEST_LOG is set, else nowhere.
func testLogger() *slog.Logger {
	if os.Getenv("TABRAFT_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startSignaling starts a real signaling server on loopback and returns its
// WebSocket URL.
func startSignaling(t testing.TB) string {
	t.Helper()
	s, err := server.New(server.Config{Logger: testLogger()})
	if err != nil {
		t.Fatalf("signaling server: %v", err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		s.Shutdown(ctx)
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + server.WebSocketPath
}

// testConfig is a loopback configuration with quick retries.
func testConfig(url, room string, id raft.NodeID) Config {
	return Config{
		ID:          id,
		SignalURL:   url,
		Room:        room,
		Logger:      testLogger(),
		Seed:        uint64(id),
		Loopback:    true,
		BackoffBase: 50 * time.Millisecond,
		BackoffMax:  time.Second,
		HelloDelay:  500 * time.Millisecond,
	}
}

// start starts a transport and closes it when the test ends.
func start(t testing.TB, cfg Config) *Transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New(%d): %v", cfg.ID, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// waitFor polls cond until it holds, failing the test at the deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// waitDeadline is a channel that fires after waitTimeout.
func waitDeadline() <-chan time.Time { return time.After(waitTimeout) }

// poll reports whether cond comes to hold within d.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// waitMesh waits until every transport has an open connection to every
// other.
func waitMesh(t testing.TB, ts ...*Transport) {
	t.Helper()
	waitFor(t, "a full mesh of open connections", func() bool {
		for _, a := range ts {
			if len(a.Connected()) != len(ts)-1 {
				return false
			}
		}
		return true
	})
}

// recv returns the next message of tr's inbox.
func recv(t testing.TB, tr *Transport) raft.Message {
	t.Helper()
	select {
	case m := <-tr.Inbox():
		return m
	case <-time.After(waitTimeout):
		t.Fatalf("%v: no message within %v", tr, waitTimeout)
		return raft.Message{}
	}
}

// waitUnreachable waits until tr reports id unreachable.
func waitUnreachable(t testing.TB, tr *Transport, id raft.NodeID) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case got := <-tr.Unreachable():
			if got == id {
				return
			}
		case <-deadline:
			t.Fatalf("%v: %d not reported unreachable", tr, id)
		}
	}
}

// waitPeerEvent waits for the event want on tr's Peers channel.
func waitPeerEvent(t testing.TB, tr *Transport, want PeerEvent) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case got := <-tr.Peers():
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("%v: no peer event %+v", tr, want)
		}
	}
}

// peerStats returns tr's stats of the link to id.
func peerStats(t testing.TB, tr *Transport, id raft.NodeID) PeerStats {
	t.Helper()
	p, ok := tr.PeerStats(id)
	if !ok {
		t.Fatalf("%v: no link to %d", tr, id)
	}
	return p
}

// app is a MsgApp from→to with sequence number seq in Index.
func app(from, to raft.NodeID, seq uint64, data []byte) raft.Message {
	m := raft.Message{Type: raft.MsgApp, From: from, To: to, Term: 1, Index: seq, Commit: seq}
	if data != nil {
		m.Entries = []raft.Entry{{Term: 1, Index: seq + 1, Data: data}}
	}
	return m
}

// roomName is a valid room name made of the test's name.
func roomName(t testing.TB) string {
	b := []byte(fmt.Sprintf("r-%s", t.Name()))
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b[:min(len(b), 64)])
}
