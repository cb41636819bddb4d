//go:build !js

package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/signaling"
	"github.com/tabraft/tabraft/signaling/client"
	"github.com/tabraft/tabraft/signaling/server"
)

func startServer(t *testing.T) string {
	t.Helper()
	s, err := server.New(server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		hs.Close()
	})
	return hs.URL + server.WebSocketPath // http:// works as ws://
}

func dial(t *testing.T, url string) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseNow)
	return c
}

func TestJoinRelayClose(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := dial(t, url), dial(t, url)
	if _, err := a.Join(ctx, "r", "a"); err != nil {
		t.Fatal(err)
	}
	w, err := b.Join(ctx, "r", "b")
	if err != nil || len(w.Members) != 1 {
		t.Fatalf("join: %+v, %v", w, err)
	}
	if m, err := a.Recv(ctx); err != nil || m.Type != signaling.TypeJoined {
		t.Fatalf("recv: %+v, %v", m, err)
	}
	if err := a.Relay(ctx, signaling.TypeOffer, "b", json.RawMessage(`{"sdp":"x"}`)); err != nil {
		t.Fatal(err)
	}
	if m, err := b.Recv(ctx); err != nil || m.Type != signaling.TypeOffer || m.From != "a" {
		t.Fatalf("recv: %+v, %v", m, err)
	}
	if err := a.Relay(ctx, signaling.TypeJoin, "b", nil); err == nil {
		t.Fatal("Relay accepted a join")
	}

	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := b.Recv(ctx); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Recv after Close: %v", err)
	}
	select {
	case <-b.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if !errors.Is(b.Err(), client.ErrClosed) {
		t.Fatalf("Err after Close: %v", b.Err())
	}
	if m, err := a.Recv(ctx); err != nil || m.Type != signaling.TypeLeft || m.ID != "b" {
		t.Fatalf("recv: %+v, %v", m, err)
	}
}

func TestJoinRefusal(t *testing.T) {
	url := startServer(t)
	c := dial(t, url)
	_, err := c.Join(context.Background(), "r", "not ok")
	var perr *signaling.Error
	if !errors.As(err, &perr) || perr.Code != signaling.CodeBadID || perr.Text == "" {
		t.Fatalf("Join: %v, want a bad_id *signaling.Error", err)
	}
}

func TestHandshakeRefusal(t *testing.T) {
	url := startServer(t)
	_, err := client.Dial(context.Background(), url, &client.Options{HTTPHeader: http.Header{"Origin": {"https://elsewhere.test"}}})
	var herr *client.HandshakeError
	if !errors.As(err, &herr) || herr.StatusCode != http.StatusForbidden {
		t.Fatalf("Dial: %v, want a 403 HandshakeError", err)
	}
	_, err = client.Dial(context.Background(), strings.Replace(url, "/ws", "/healthz", 1), nil)
	if err == nil {
		t.Fatal("Dial of a plain HTTP endpoint succeeded")
	}
}

func TestRecvHonoursContext(t *testing.T) {
	c := dial(t, startServer(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := c.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv: %v, want a deadline error", err)
	}
}
