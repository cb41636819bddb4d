//go:build js

package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/signaling"
)

// These tests run in a browser (GOOS=js GOARCH=wasm go test -exec
// wasmbrowsertest). Those that need a signaling server take its URL from
// TABRAFT_SIGNAL_URL, which TestBrowserDialer (jsdial_test.go) sets when it
// runs them natively; without it they are skipped.

const waitTimeout = 10 * time.Second

func signalURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("TABRAFT_SIGNAL_URL")
	if u == "" {
		t.Skip("TABRAFT_SIGNAL_URL is not set (TestBrowserDialer sets it)")
	}
	return u
}

func jsDial(t *testing.T, url string, opts *Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(c.CloseNow)
	return c
}

func TestDialRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := Dial(ctx, "ws://127.0.0.1:1/ws", nil)
	if !errors.Is(err, errNotOpened) {
		t.Fatalf("Dial: %v, want errNotOpened", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Dial waited for the context's deadline: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Dial's error %q does not name the URL", err)
	}
}

func TestDialBadURL(t *testing.T) {
	_, err := Dial(context.Background(), "ftp://example.org/ws", nil)
	if err == nil || errors.Is(err, errNotOpened) {
		t.Fatalf("Dial of an ftp URL: %v, want the WebSocket constructor's error", err)
	}
}

func TestDialCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Dial(ctx, "ws://127.0.0.1:1/ws", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial with a cancelled context: %v", err)
	}
}

func TestCloseStatus(t *testing.T) {
	if got := CloseStatus(fmt.Errorf("recv: %w", CloseError{Code: 1008, Reason: "x"})); got != 1008 {
		t.Fatalf("CloseStatus of a wrapped CloseError = %d", got)
	}
	if got := CloseStatus(errors.New("x")); got != -1 {
		t.Fatalf("CloseStatus of another error = %d", got)
	}
}

func TestWebSocketURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:1/ws":  "ws://h:1/ws",
		"https://h/ws":   "wss://h/ws",
		"ws://h/ws":      "ws://h/ws",
		"wss://h/ws":     "wss://h/ws",
		"httpx://h/ws":   "httpx://h/ws",
		"/relative/path": "/relative/path",
	} {
		if got := webSocketURL(in); got != want {
			t.Errorf("webSocketURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJoinRelayClose(t *testing.T) {
	url := signalURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	// http:// works as ws:// here too.
	a, b := jsDial(t, url, nil), jsDial(t, "http"+strings.TrimPrefix(url, "ws"), nil)
	room := fmt.Sprintf("relay-%d", time.Now().UnixNano())
	if _, err := a.Join(ctx, room, "a"); err != nil {
		t.Fatal(err)
	}
	w, err := b.Join(ctx, room, "b")
	if err != nil || len(w.Members) != 1 {
		t.Fatalf("join: %+v, %v", w, err)
	}
	if m, err := a.Recv(ctx); err != nil || m.Type != signaling.TypeJoined {
		t.Fatalf("recv: %+v, %v", m, err)
	}
	// Non-ASCII text survives the trip through JavaScript strings.
	data := json.RawMessage(`{"sdp":"é€😀"}`)
	if err := a.Relay(ctx, signaling.TypeOffer, "b", data); err != nil {
		t.Fatal(err)
	}
	if m, err := b.Recv(ctx); err != nil || m.Type != signaling.TypeOffer || m.From != "a" || string(m.Data) != string(data) {
		t.Fatalf("recv: %+v (data %s), %v", m, m.Data, err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := b.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after Close: %v", err)
	}
	if !errors.Is(b.Err(), ErrClosed) {
		t.Fatalf("Err after Close: %v", b.Err())
	}
	if err := b.Send(ctx, signaling.Message{Type: signaling.TypePing}); err == nil {
		t.Fatal("Send after Close succeeded")
	}
	if m, err := a.Recv(ctx); err != nil || m.Type != signaling.TypeLeft || m.ID != "b" {
		t.Fatalf("recv: %+v, %v", m, err)
	}
}

func TestReadLimit(t *testing.T) {
	url := signalURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	small := jsDial(t, url, &Options{ReadLimit: 512})
	big := jsDial(t, url, nil)
	room := fmt.Sprintf("limit-%d", time.Now().UnixNano())
	if _, err := small.Join(ctx, room, "small"); err != nil {
		t.Fatal(err)
	}
	if _, err := big.Join(ctx, room, "big"); err != nil {
		t.Fatal(err)
	}
	if m, err := small.Recv(ctx); err != nil || m.Type != signaling.TypeJoined {
		t.Fatalf("recv: %+v, %v", m, err)
	}
	fits := json.RawMessage(`"` + strings.Repeat("x", 100) + `"`)
	tooBig := json.RawMessage(`"` + strings.Repeat("x", 2000) + `"`)
	for _, d := range []json.RawMessage{fits, tooBig} {
		if err := big.Relay(ctx, signaling.TypeOffer, "small", d); err != nil {
			t.Fatal(err)
		}
	}
	if m, err := small.Recv(ctx); err != nil || string(m.Data) != string(fits) {
		t.Fatalf("recv of the message within the limit: %+v, %v", m, err)
	}
	_, err := small.Recv(ctx)
	if err == nil || !strings.Contains(err.Error(), "exceeds the read limit of 512 bytes") {
		t.Fatalf("recv of the message beyond the limit: %v", err)
	}
	// The server sees the connection end, and tells the room.
	for {
		m, err := big.Recv(ctx)
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		if m.Type == signaling.TypeLeft && m.ID == "small" {
			break
		}
	}
}

func TestServerCloseStatus(t *testing.T) {
	url := signalURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c := jsDial(t, url, nil)
	// Refused messages (the server's default allows a burst of 20), until
	// the server closes the connection with a policy violation.
	for range 100 {
		if err := c.SendRaw(ctx, []byte(`{"v":1,"type":"no such type"}`)); err != nil {
			break
		}
	}
	for {
		_, err := c.Recv(ctx)
		if err == nil {
			continue
		}
		if got := CloseStatus(err); got != 1008 {
			t.Fatalf("connection ended with %v (status %d), want status 1008", err, got)
		}
		break
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after the server closed the connection")
	}
}

func TestCloseNowEndsRecv(t *testing.T) {
	url := signalURL(t)
	c := jsDial(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		_, err := c.Recv(ctx)
		got <- err
	}()
	c.CloseNow()
	if err := <-got; !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv during CloseNow: %v", err)
	}
}
