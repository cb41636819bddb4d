//go:build !js

package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tabraft/tabraft/signaling"
	"github.com/tabraft/tabraft/signaling/client"
)

// waitTimeout bounds every wait of the tests: generous, since a wait that
// succeeds returns at once.
const waitTimeout = 10 * time.Second

// testServer is a real server behind a real HTTP listener on loopback.
type testServer struct {
	*Server
	http  *httptest.Server
	wsURL string
}

// testLogger logs to stderr when TABRAFT_TEST_LOG is set, else nowhere.
func testLogger() *slog.Logger {
	if os.Getenv("TABRAFT_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startServer starts a server with cfg and stops it when the test ends.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return &testServer{Server: s, http: hs, wsURL: "ws" + strings.TrimPrefix(hs.URL, "http") + WebSocketPath}
}

// dial connects a client and closes it when the test ends.
func (ts *testServer) dial(t testing.TB) *client.Client {
	t.Helper()
	return ts.dialWith(t, nil)
}

func (ts *testServer) dialWith(t testing.TB, opts *client.Options) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, ts.wsURL, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(c.CloseNow)
	return c
}

// dialRaw connects a bare coder/websocket connection, for clients that
// misbehave at the WebSocket level (never read, never answer pings).
func (ts *testServer) dialRaw(t testing.TB, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, ts.wsURL, opts)
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// joined dials a client and joins it to room as id.
func (ts *testServer) joined(t testing.TB, room, id string) (*client.Client, signaling.Message) {
	t.Helper()
	c := ts.dial(t)
	return c, join(t, c, room, id)
}

// join joins c to room as id and returns the welcome.
func join(t testing.TB, c *client.Client, room, id string) signaling.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	w, err := c.Join(ctx, room, id)
	if err != nil {
		t.Fatalf("join %s as %s: %v", room, id, err)
	}
	return w
}

// send sends m, failing the test on error.
func send(t testing.TB, c *client.Client, m signaling.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.Send(ctx, m); err != nil {
		t.Fatalf("send %s: %v", m.Type, err)
	}
}

// sendRaw sends b unchecked.
func sendRaw(t testing.TB, c *client.Client, b string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.SendRaw(ctx, []byte(b)); err != nil {
		t.Fatalf("send %s: %v", b, err)
	}
}

// recv returns c's next message.
func recv(t testing.TB, c *client.Client) signaling.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	m, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return m
}

// expect returns c's next message, which must be of type typ.
func expect(t testing.TB, c *client.Client, typ signaling.Type) signaling.Message {
	t.Helper()
	m := recv(t, c)
	if m.Type != typ {
		t.Fatalf("got %s message %+v, want %s", m.Type, m, typ)
	}
	return m
}

// expectError returns c's next message, which must be an error with code.
func expectError(t testing.TB, c *client.Client, code signaling.ErrorCode) signaling.Message {
	t.Helper()
	m := expect(t, c, signaling.TypeError)
	if m.Code != code {
		t.Fatalf("got error %s (%s), want %s", m.Code, m.Text, code)
	}
	if m.Text == "" {
		t.Fatalf("error %s without a text", m.Code)
	}
	return m
}

// expectLeft returns c's next message, which must announce that id left
// for reason.
func expectLeft(t testing.TB, c *client.Client, id string, reason signaling.LeftReason) {
	t.Helper()
	m := expect(t, c, signaling.TypeLeft)
	if m.ID != id || m.Reason != reason {
		t.Fatalf("got left %s (%s), want left %s (%s)", m.ID, m.Reason, id, reason)
	}
}

// expectClosed waits for c's connection to end, after any buffered
// messages, and checks the close status.
func expectClosed(t testing.TB, c *client.Client, status websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for {
		m, err := c.Recv(ctx)
		if err == nil {
			t.Logf("message before close: %+v", m)
			continue
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("connection still open after %v", waitTimeout)
		}
		if got := client.CloseStatus(err); got != status {
			t.Fatalf("connection ended with %v (status %v), want status %v", err, got, status)
		}
		return
	}
}

// pingPong checks that c's connection works: a ping gets a pong.
func pingPong(t testing.TB, c *client.Client) {
	t.Helper()
	send(t, c, signaling.Message{Type: signaling.TypePing})
	expect(t, c, signaling.TypePong)
}

// eventually polls cond until it holds, or fails the test after
// waitTimeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// get fetches path from ts with headers, returning the response and body.
func (ts *testServer) get(t testing.TB, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.http.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := ts.http.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp, string(b)
}

// metric returns the line of /metrics that starts with prefix (a metric
// name with its labels), or "".
func (ts *testServer) metric(t testing.TB, prefix string) string {
	t.Helper()
	_, body := ts.get(t, "/metrics", nil)
	for line := range strings.SplitSeq(body, "\n") {
		if strings.HasPrefix(line, prefix+" ") {
			return line
		}
	}
	return ""
}

// testLoggerOrDiscard is testLogger, or a logger that discards.
func testLoggerOrDiscard() *slog.Logger {
	if l := testLogger(); l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

func itoa(n int) string { return strconv.Itoa(n) }
