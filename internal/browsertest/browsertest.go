//go:build !js

// Package browsertest runs tabraft's browser member for tests: it builds the
// wasm (cmd/tabraft-wasm) and the signaling server (cmd/tabraft-signal),
// starts the real server binary on a free port serving that wasm, and drives
// headless Chromium through chromedp — tabs, JavaScript evaluated with its
// Promises awaited, the console of each tab kept for failure reports.
//
//	browsertest.Require(t)
//	b := browsertest.Build(t)
//	srv := browsertest.StartServer(t, b)
//	br := browsertest.NewBrowser(t)
//	tab := br.Open(t, srv.URL+"/")
//	id := browsertest.Eval[string](t, tab, `loadTabraft().then(t => t.join()).then(m => m.id)`)
//
// Browser tests run only when TABRAFT_BROWSER_TEST is set (Require skips
// them otherwise): they need Chromium and take seconds.
package browsertest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// EnvVar enables the browser tests.
const EnvVar = "TABRAFT_BROWSER_TEST"

// Require skips t unless EnvVar is set, and fails it when Chromium is
// missing then.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvVar) == "" {
		t.Skipf("set %s=1 to run the browser tests (headless Chromium)", EnvVar)
	}
	if _, err := chromiumPath(); err != nil {
		t.Fatalf("%s is set but: %v", EnvVar, err)
	}
}

func chromiumPath() (string, error) {
	if p := os.Getenv("TABRAFT_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome in PATH (or TABRAFT_CHROMIUM)")
}

// Artifacts are the built programs.
type Artifacts struct {
	// WasmDir holds tabraft.wasm and wasm_exec.js, as tabraft-signal's
	// -wasm-dir wants them.
	WasmDir string
	// Signal is the tabraft-signal binary.
	Signal string
}

// Build builds the wasm member and the signaling server into a temporary
// directory removed when t ends (Go's build cache makes a rebuild cheap).
func Build(t testing.TB) Artifacts {
	t.Helper()
	a, err := BuildIn(t.TempDir(), BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func goBuild(dir string, env []string, args ...string) error {
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// moduleRoot is the directory of tabraft's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the tabraft module")
	}
	return filepath.Dir(mod), nil
}

// Server is a running tabraft-signal.
type Server struct {
	// URL is the server's base URL: http://127.0.0.1:port.
	URL string
	// Addr is its host:port.
	Addr string

	cmd  *exec.Cmd
	logs *lockedBuffer
}

// WebSocketURL is the signaling WebSocket of the server.
func (s *Server) WebSocketURL() string { return "ws://" + s.Addr + "/ws" }

// Logs returns what the server logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// StartServer runs the signaling server of a on a free port of 127.0.0.1,
// serving a's wasm, with extra flags args; it is stopped (SIGTERM) when t
// ends, and its logs are reported if t failed.
func StartServer(t testing.TB, a Artifacts, args ...string) *Server {
	t.Helper()
	s, stop, err := Launch(a, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("tabraft-signal's log:\n%s", s.logs.String())
		}
	})
	return s
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
