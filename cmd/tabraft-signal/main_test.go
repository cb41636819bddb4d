//go:build !js

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tabraft/tabraft/signaling/client"
)

const waitTimeout = 10 * time.Second

// TestMain runs main itself when asked to, so that a test can run the real
// command in a child process and send it signals.
func TestMain(m *testing.M) {
	if os.Getenv("TABRAFT_SIGNAL_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// env makes a getenv from pairs.
func env(pairs ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = pairs[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestOptionsFromEnvAndFlags(t *testing.T) {
	o, err := parseOptions(nil, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:8080" || o.maxMembers != 64 || o.pingInterval != 5*time.Second {
		t.Fatalf("defaults: %+v", o)
	}

	o, err = parseOptions([]string{"-max-rooms", "7"}, env(
		"TABRAFT_ADDR", ":9999",
		"TABRAFT_MAX_ROOMS", "5",
		"TABRAFT_ALLOWED_ORIGINS", " a.test , *.b.test ,",
		"TABRAFT_PING_INTERVAL", "2s",
		"TABRAFT_STUN_URLS", "stun:s.test:3478",
		"TABRAFT_TURN_URLS", "turn:t.test:3478,turns:t.test:5349",
		"TABRAFT_TURN_USERNAME", "u",
		"TABRAFT_TURN_CREDENTIAL", "p",
	), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != ":9999" || o.maxRooms != 7 || o.pingInterval != 2*time.Second {
		t.Fatalf("env then flags: %+v", o)
	}
	if got := splitList(o.allowedOrigins); strings.Join(got, "|") != "a.test|*.b.test" {
		t.Fatalf("allowed origins %q", got)
	}
	ice, err := o.iceServers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ice) != 2 || ice[0].URLs[0] != "stun:s.test:3478" || len(ice[1].URLs) != 2 || ice[1].Credential != "p" {
		t.Fatalf("ICE servers %+v", ice)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  func(string) string
		want string
	}{
		{nil, env("TABRAFT_MAX_ROOMS", "many"), "TABRAFT_MAX_ROOMS"},
		{[]string{"-max-rooms", "many"}, env(), "max-rooms"},
		{[]string{"-nope"}, env(), "nope"},
		{[]string{"extra"}, env(), "unexpected"},
		{[]string{"-tls-cert", "c.pem"}, env(), "go together"},
	} {
		_, err := parseOptions(tc.args, tc.env, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseOptions(%q): %v, want an error about %s", tc.args, err, tc.want)
		}
	}
	if _, err := parseOptions([]string{"-h"}, env(), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	var usage bytes.Buffer
	parseOptions([]string{"-h"}, env(), &usage)
	if !strings.Contains(usage.String(), "TABRAFT_ALLOWED_ORIGINS") {
		t.Errorf("usage does not name the environment variables:\n%s", usage.String())
	}
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-turn-username", "u"}, "turn-urls"},
		{[]string{"-stun-urls", "http://x"}, "scheme"},
		{[]string{"-allowed-origins", "[x"}, "pattern"},
		{[]string{"-log-level", "loud"}, "log-level"},
		{[]string{"-log-format", "xml"}, "log-format"},
		{[]string{"-wasm-dir", "/does/not/exist"}, "wasm-dir"},
		{[]string{"-tls-cert", "/no/cert.pem", "-tls-key", "/no/key.pem"}, "TLS"},
		{[]string{"-max-conns", "-1"}, "MaxConns"},
		{[]string{"-addr", "256.0.0.1:1"}, "listen"},
	} {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, tc.args...), env(), io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: %v, want an error about %s", tc.args, err, tc.want)
		}
	}
}

// started is a run in progress.
type started struct {
	url    string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the command in this process with args and getenv.
func start(t *testing.T, scheme string, args []string, getenv func(string) string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	s := &started{cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{}}
	go func() {
		s.done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-log-level", "debug"}, args...), getenv, s.logs,
			func(a net.Addr) { addr <- a })
	}()
	select {
	case a := <-addr:
		s.url = scheme + "://" + a.String()
	case err := <-s.done:
		t.Fatalf("run: %v\n%s", err, s.logs)
	case <-time.After(waitTimeout):
		t.Fatal("server did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(waitTimeout):
			t.Error("server did not stop")
		}
	})
	return s
}

// stop cancels the run and returns its result.
func (s *started) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(waitTimeout):
		t.Fatal("server did not stop")
		return nil
	}
}

func httpGet(t *testing.T, c *http.Client, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServesEverythingAndShutsDown(t *testing.T) {
	wasmDir := t.TempDir()
	os.WriteFile(filepath.Join(wasmDir, "tabraft.wasm"), []byte("\x00asm raw"), 0o644)
	os.WriteFile(filepath.Join(wasmDir, "tabraft.wasm.gz"), []byte("gzipped"), 0o644)
	goroot := t.TempDir()
	os.MkdirAll(filepath.Join(goroot, "lib", "wasm"), 0o755)
	os.WriteFile(filepath.Join(goroot, "lib", "wasm", "wasm_exec.js"), []byte("// from GOROOT"), 0o644)

	s := start(t, "http", []string{"-wasm-dir", wasmDir, "-stun-urls", "stun:s.test:3478"}, env("GOROOT", goroot))
	hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}

	resp, body := httpGet(t, hc, s.url+"/", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "<title>tabraft</title>") {
		t.Fatalf("index: %d %.80q", resp.StatusCode, body)
	}
	_, body = httpGet(t, hc, s.url+"/config.json", nil)
	if !strings.Contains(body, "stun:s.test:3478") {
		t.Fatalf("config.json: %s", body)
	}
	resp, body = httpGet(t, hc, s.url+"/tabraft.wasm", http.Header{"Accept-Encoding": {"gzip, br"}})
	if resp.StatusCode != 200 || body != "gzipped" || resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Type") != "application/wasm" {
		t.Fatalf("wasm: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	_, body = httpGet(t, hc, s.url+"/wasm_exec.js", nil)
	if body != "// from GOROOT" {
		t.Fatalf("wasm_exec.js: %q", body)
	}
	resp, _ = httpGet(t, hc, s.url+"/healthz", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}

	ctx := context.Background()
	c, err := client.Dial(ctx, s.url+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	w, err := c.Join(ctx, "room", "me")
	if err != nil {
		t.Fatal(err)
	}
	if len(w.ICEServers) != 1 {
		t.Fatalf("welcome ICE servers: %+v", w.ICEServers)
	}

	if err := s.stop(t); err != nil {
		t.Fatalf("run returned %v\n%s", err, s.logs)
	}
	rctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if _, err := c.Recv(rctx); client.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("client after shutdown: %v, want going away", err)
	}
	if !strings.Contains(s.logs.String(), "shut down cleanly") {
		t.Fatalf("logs:\n%s", s.logs)
	}
}

func TestWasmExecFromWasmDir(t *testing.T) {
	wasmDir := t.TempDir()
	os.WriteFile(filepath.Join(wasmDir, "wasm_exec.js"), []byte("// shipped"), 0o644)
	s := start(t, "http", []string{"-wasm-dir", wasmDir}, env())
	_, body := httpGet(t, http.DefaultClient, s.url+"/wasm_exec.js", nil)
	if body != "// shipped" {
		t.Fatalf("wasm_exec.js: %q", body)
	}
	if !strings.Contains(s.logs.String(), "no tabraft.wasm in the wasm directory") {
		t.Fatalf("no warning about the missing wasm build:\n%s", s.logs)
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, certPEM, 0o644)
	os.WriteFile(keyFile, keyPEM, 0o600)

	s := start(t, "https", []string{"-tls-cert", certFile, "-tls-key", keyFile}, env())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, body := httpGet(t, hc, s.url+"/healthz", nil)
	if resp.StatusCode != 200 || body != "ok\n" || resp.TLS == nil {
		t.Fatalf("https healthz: %d %q", resp.StatusCode, body)
	}
	c, err := client.Dial(context.Background(), "wss"+strings.TrimPrefix(s.url, "https")+"/ws", &client.Options{HTTPClient: hc})
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	defer c.CloseNow()
	if _, err := c.Join(context.Background(), "r", "a"); err != nil {
		t.Fatal(err)
	}
}

// selfSigned makes a certificate for 127.0.0.1.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tabraft test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestSIGTERM runs the real command in a child process, with its
// environment only, and checks that SIGTERM shuts it down gracefully.
func TestSIGTERM(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(),
		"TABRAFT_SIGNAL_TEST_RUN_MAIN=1",
		"TABRAFT_ADDR=127.0.0.1:0",
		"TABRAFT_LOG_FORMAT=json",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	// The address comes from the log line that says it listens.
	addr := make(chan string, 1)
	var logs syncBuffer
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "signaling server listening" {
				addr <- line.Addr
			}
		}
	}()
	var url string
	select {
	case a := <-addr:
		url = "ws://" + a + "/ws"
	case <-time.After(waitTimeout):
		t.Fatalf("child did not start:\n%s", logs.String())
	}

	ctx := context.Background()
	a, err := client.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.CloseNow()
	if _, err := a.Join(ctx, "r", "a"); err != nil {
		t.Fatal(err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if _, err := a.Recv(rctx); client.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("client after SIGTERM: %v, want going away", err)
	}
	// Its stderr ends when it exits; only then may Wait be called.
	select {
	case <-stderrDone:
	case <-time.After(waitTimeout):
		t.Fatalf("child still running after SIGTERM:\n%s", logs.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child exited with %v:\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "shut down cleanly") {
		t.Fatalf("logs:\n%s", logs.String())
	}
}
