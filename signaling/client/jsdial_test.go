//go:build !js

package client_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tabraft/tabraft/signaling/server"
)

// TestBrowserDialer runs this package's GOOS=js tests (dial_js_test.go) in
// headless Chromium with agnivade/wasmbrowsertest, against a signaling
// server in this process: the browser's WebSocket dialer joins, relays,
// honours the read limit, reports the server's close status. It runs when
// TABRAFT_BROWSER_TEST is set. The wasmbrowsertest command is taken from
// $WASMBROWSERTEST, else `go tool -n wasmbrowsertest`, else $PATH.
func TestBrowserDialer(t *testing.T) {
	if os.Getenv("TABRAFT_BROWSER_TEST") == "" {
		t.Skip("set TABRAFT_BROWSER_TEST=1 to run the browser's dialer in headless Chromium")
	}
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Fatalf("TABRAFT_BROWSER_TEST is set but there is no chromium: %v", err)
	}
	execPath := wasmBrowserTest(t)

	s, err := server.New(server.Config{AllowedOrigins: []string{"*"}})
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
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + server.WebSocketPath

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-v", "-exec", execPath, ".")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "TABRAFT_SIGNAL_URL="+url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("GOOS=js go test: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "    ") {
			t.Log(line)
		}
	}
	// The tests that need the server must have run, not skipped.
	for _, name := range []string{"TestDialRefused", "TestJoinRelayClose", "TestReadLimit", "TestServerCloseStatus", "TestCloseNowEndsRecv"} {
		if !strings.Contains(string(out), "--- PASS: "+name+" ") {
			t.Errorf("%s did not pass in the browser:\n%s", name, out)
		}
	}
}

// wasmBrowserTest finds the wasmbrowsertest command.
func wasmBrowserTest(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WASMBROWSERTEST"); p != "" {
		return p
	}
	out, toolErr := exec.Command("go", "tool", "-n", "wasmbrowsertest").Output()
	if p := strings.TrimSpace(string(out)); toolErr == nil && p != "" {
		return p
	}
	p, err := exec.LookPath("wasmbrowsertest")
	if err != nil {
		t.Fatalf("no wasmbrowsertest: `go tool -n wasmbrowsertest`: %v; $PATH: %v "+
			"(set WASMBROWSERTEST, or `go install github.com/agnivade/wasmbrowsertest@latest` outside this module)", toolErr, err)
	}
	return p
}
