//go:build !js

package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tabraft/tabraft/signaling"
)

func TestPagesAndConfig(t *testing.T) {
	ice := []signaling.ICEServer{
		{URLs: []string{"stun:stun.test:3478"}},
		{URLs: []string{"turn:turn.test:3478?transport=udp", "turns:turn.test:5349"}, Username: "u", Credential: "p"},
	}
	ts := startServer(t, Config{
		ICEServers: ice,
		Pages:      fstest.MapFS{"index.html": {Data: []byte("<title>tabraft</title>")}},
		WasmExecJS: []byte("// wasm_exec"),
	})

	resp, body := ts.get(t, "/", nil)
	if resp.StatusCode != http.StatusOK || body != "<title>tabraft</title>" {
		t.Fatalf("GET /: %d %q", resp.StatusCode, body)
	}
	resp, _ = ts.get(t, "/nothing-here.html", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET of a missing page: %d", resp.StatusCode)
	}

	resp, body = ts.get(t, "/config.json", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("config.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var pc PageConfig
	if err := json.Unmarshal([]byte(body), &pc); err != nil {
		t.Fatalf("config.json %q: %v", body, err)
	}
	if pc.Version != signaling.Version || pc.SignalingPath != "/ws" || len(pc.ICEServers) != 2 ||
		pc.ICEServers[1].Username != "u" || pc.ICEServers[1].URLs[1] != "turns:turn.test:5349" {
		t.Fatalf("config.json = %+v", pc)
	}

	resp, body = ts.get(t, "/wasm_exec.js", nil)
	if resp.StatusCode != http.StatusOK || body != "// wasm_exec" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("wasm_exec.js: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestNothingToServe(t *testing.T) {
	ts := startServer(t, Config{})
	for _, path := range []string{"/", "/wasm_exec.js", "/tabraft.wasm"} {
		resp, body := ts.get(t, path, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not served") && !strings.Contains(body, "no pages") {
			t.Errorf("GET %s: %d %q, want 404 with an explanation", path, resp.StatusCode, body)
		}
	}
	_, body := ts.get(t, "/config.json", nil)
	if !strings.Contains(body, `"iceServers":[]`) {
		t.Fatalf("config.json without ICE servers: %s", body)
	}
}

func TestPrecompressedWasm(t *testing.T) {
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	all := fstest.MapFS{
		"tabraft.wasm":    {Data: []byte("RAW"), ModTime: mod},
		"tabraft.wasm.br": {Data: []byte("BROTLI"), ModTime: mod},
		"tabraft.wasm.gz": {Data: []byte("GZIP"), ModTime: mod},
	}
	gzOnly := fstest.MapFS{
		"tabraft.wasm":    {Data: []byte("RAW")},
		"tabraft.wasm.gz": {Data: []byte("GZIP")},
	}
	rawOnly := fstest.MapFS{"tabraft.wasm": {Data: []byte("RAW")}}
	brOnly := fstest.MapFS{"tabraft.wasm.br": {Data: []byte("BROTLI")}}
	for _, tc := range []struct {
		name     string
		fsys     fstest.MapFS
		accept   string
		status   int
		body     string
		encoding string
	}{
		{"browser prefers brotli", all, "gzip, deflate, br, zstd", 200, "BROTLI", "br"},
		{"gzip only client", all, "gzip", 200, "GZIP", "gzip"},
		{"x-gzip", all, "x-gzip", 200, "GZIP", "gzip"},
		{"no header", all, "", 200, "RAW", ""},
		{"identity", all, "identity", 200, "RAW", ""},
		{"q values", all, "br;q=0.5, gzip;q=0.9", 200, "GZIP", "gzip"},
		{"br refused", all, "br;q=0, gzip", 200, "GZIP", "gzip"},
		{"wildcard", all, "*", 200, "BROTLI", "br"},
		{"wildcard but br", all, "*, br;q=0", 200, "GZIP", "gzip"},
		{"case and spaces", all, " GZIP ; Q=1 ", 200, "GZIP", "gzip"},
		{"bad q ignored", all, "br;q=2, gzip", 200, "GZIP", "gzip"},
		{"no brotli file", gzOnly, "br, gzip", 200, "GZIP", "gzip"},
		{"raw only", rawOnly, "br, gzip", 200, "RAW", ""},
		{"brotli only, client has it", brOnly, "br", 200, "BROTLI", "br"},
		{"brotli only, client lacks it", brOnly, "gzip", 406, "", ""},
		{"identity refused", rawOnly, "identity;q=0", 406, "", ""},
		{"nothing built", fstest.MapFS{}, "br", 404, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &precompressed{fsys: tc.fsys, name: WasmName, contentType: "application/wasm", missing: "no wasm", log: testLoggerOrDiscard()}
			req := httptest.NewRequest(http.MethodGet, "/tabraft.wasm", nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Encoding", tc.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("Vary"); got != "Accept-Encoding" {
				t.Fatalf("Vary = %q", got)
			}
			if tc.status != 200 {
				return
			}
			if rec.Body.String() != tc.body {
				t.Fatalf("body %q, want %q", rec.Body, tc.body)
			}
			if got := rec.Header().Get("Content-Encoding"); got != tc.encoding {
				t.Fatalf("Content-Encoding %q, want %q", got, tc.encoding)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/wasm" {
				t.Fatalf("Content-Type %q", got)
			}
			if got := rec.Header().Get("Content-Length"); got != "" && got != itoa(len(tc.body)) {
				t.Fatalf("Content-Length %q for %d bytes", got, len(tc.body))
			}
		})
	}
}

func TestPrecompressedConditionalAndHead(t *testing.T) {
	mod := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ts := startServer(t, Config{Wasm: fstest.MapFS{
		"tabraft.wasm":    {Data: []byte("RAW"), ModTime: mod},
		"tabraft.wasm.br": {Data: []byte("BROTLI"), ModTime: mod},
	}})
	resp, body := ts.get(t, "/tabraft.wasm", http.Header{"Accept-Encoding": {"br"}})
	if resp.StatusCode != 200 || body != "BROTLI" || resp.Header.Get("Content-Encoding") != "br" {
		t.Fatalf("GET: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	lm := resp.Header.Get("Last-Modified")
	if lm == "" {
		t.Fatal("no Last-Modified")
	}
	resp, _ = ts.get(t, "/tabraft.wasm", http.Header{"Accept-Encoding": {"br"}, "If-Modified-Since": {lm}})
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional GET: %d, want 304", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodHead, ts.http.URL+"/tabraft.wasm", nil)
	req.Header.Set("Accept-Encoding", "br")
	hresp, err := ts.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hresp.Body.Close()
	if hresp.StatusCode != 200 || hresp.ContentLength != 6 || hresp.Header.Get("Content-Encoding") != "br" {
		t.Fatalf("HEAD: %d %v", hresp.StatusCode, hresp.Header)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative limit", Config{MaxRooms: -1}, "MaxRooms"},
		{"negative rate", Config{MessageRate: -1}, "MessageRate"},
		{"negative duration", Config{PingTimeout: -time.Second}, "PingTimeout"},
		{"tiny message limit", Config{MaxMessageBytes: 100}, "MaxMessageBytes"},
		{"bad origin pattern", Config{AllowedOrigins: []string{"[a-"}}, "origin pattern"},
		{"empty origin pattern", Config{AllowedOrigins: []string{" "}}, "origin pattern"},
		{"ICE server without URL", Config{ICEServers: []signaling.ICEServer{{}}}, "no URL"},
		{"ICE URL scheme", Config{ICEServers: []signaling.ICEServer{{URLs: []string{"http://x"}}}}, "scheme"},
		{"ICE URL without host", Config{ICEServers: []signaling.ICEServer{{URLs: []string{"stun:"}}}}, "host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %s", err, tc.want)
			}
		})
	}
	if _, err := New(Config{}); err != nil {
		t.Fatalf("zero config refused: %v", err)
	}
}

func TestOriginAllowed(t *testing.T) {
	patterns := []string{"*.example.org", "https://exact.test", "LOCALHOST:*"}
	for _, tc := range []struct {
		origin, host string
		ok           bool
	}{
		{"", "sig.example.org", true},
		{"https://sig.example.org", "sig.example.org", true},
		{"https://SIG.example.org", "sig.example.org", true},
		{"https://sig.example.org:444", "sig.example.org", false},
		{"https://a.example.org", "sig.other", true},
		{"https://example.org", "sig.other", false},
		{"https://exact.test", "sig.other", true},
		{"http://exact.test", "sig.other", false},
		{"http://localhost:3000", "sig.other", true},
		{"http://localhost", "sig.other", false},
		{"file://", "sig.other", false},
		{"null", "sig.other", false},
		{"::::", "sig.other", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://"+tc.host+"/ws", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if ok, _ := originAllowed(r, patterns); ok != tc.ok {
			t.Errorf("origin %q on host %q: allowed=%v, want %v", tc.origin, tc.host, ok, tc.ok)
		}
	}
}

func TestWebSocketAlsoServedAtSignalPath(t *testing.T) {
	ts := startServer(t, Config{})
	alt := *ts
	alt.wsURL = strings.TrimSuffix(ts.wsURL, WebSocketPath) + WebSocketAltPath
	c := alt.dial(t)
	if _, err := c.Join(context.Background(), "room", "a"); err != nil {
		t.Fatalf("join through %s: %v", alt.wsURL, err)
	}
}
