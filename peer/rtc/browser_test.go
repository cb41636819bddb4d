//go:build !js

package rtc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tabraft/tabraft/raft"
	"github.com/tabraft/tabraft/signaling/server"
)

// browserPage loads the probe built from internal/jsprobe.
const browserPage = `<!doctype html>
<script src="/wasm_exec.js"></script>
<script>
const go = new Go();
WebAssembly.instantiateStreaming(fetch("/tabraft.wasm"), go.importObject).then(r => go.run(r.instance));
</script>`

// TestBrowser runs the GOOS=js build of the transport in headless
// Chromium: two members in one tab (tab to tab through the browser's own
// WebRTC) and one native member in this process, all exchanging numbered
// messages, some large, and checking their order. It needs chromium and
// the network's non-loopback interface, and takes a few seconds to build
// the probe: it runs when TABRAFT_BROWSER_TEST is set, as `make test`
// does after installing Chromium.
func TestBrowser(t *testing.T) {
	if os.Getenv("TABRAFT_BROWSER_TEST") == "" {
		t.Skip("set TABRAFT_BROWSER_TEST=1 to run the transport in headless Chromium (make browser)")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("TABRAFT_BROWSER_TEST is set but there is no chromium: %v", err)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	goroot, err := exec.Command(gobin, "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	dir := t.TempDir()
	build := exec.Command(gobin, "build", "-o", filepath.Join(dir, "tabraft.wasm"), "./internal/jsprobe")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the probe: %v\n%s", err, out)
	}
	execJS, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := server.New(server.Config{
		Logger:     testLogger(),
		Pages:      fstest.MapFS{"index.html": {Data: []byte(browserPage)}},
		Wasm:       os.DirFS(dir),
		WasmExecJS: execJS,
	})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan []byte, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case results <- b:
		default:
		}
	})
	mux.Handle("/", sig.Handler())
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		sig.Shutdown(ctx)
		hs.Close()
	})
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + server.WebSocketPath

	const (
		room = "browser"
		n    = 1000
		big  = 100 << 10
	)
	// The native member gathers the real interface: the browser cannot
	// reach a loopback candidate.
	cfg := testConfig(url, room, 1)
	cfg.Loopback = false
	native := start(t, cfg)

	page := fmt.Sprintf("%s/?signal=%s&room=%s&ids=2,3&peers=1,2,3&n=%d&big=%d", hs.URL, url, room, n, big)
	var stderr bytes.Buffer
	browser := exec.Command(chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0", page)
	browser.Stderr = &stderr
	if err := browser.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		browser.Process.Kill()
		browser.Wait()
		if t.Failed() {
			t.Logf("chromium's log:\n%s", consoleLines(stderr.String()))
		}
	})

	// The native member's side of the exchange.
	var wg sync.WaitGroup
	wg.Go(func() {
		waitFor(t, "the native member connected to both tab members", func() bool { return len(native.Connected()) == 2 })
		for i := 1; i <= n; i++ {
			for _, p := range []raft.NodeID{2, 3} {
				native.Send(probeMessage(1, p, uint64(i), big))
			}
		}
	})
	wg.Go(func() {
		next := map[raft.NodeID]uint64{}
		for range 2 * n {
			var m raft.Message
			select {
			case m = <-native.Inbox():
			case <-time.After(waitTimeout):
				t.Errorf("the native member received only %v within %v", next, waitTimeout)
				for _, p := range native.Stats().Peers {
					t.Logf("native link to %d: %+v", p.ID, p)
				}
				return
			}
			want := probeMessage(m.From, 1, next[m.From]+1, big)
			if m.Index != want.Index || len(m.Entries) != len(want.Entries) ||
				(len(m.Entries) == 1 && !bytes.Equal(m.Entries[0].Data, want.Entries[0].Data)) {
				t.Errorf("from %d: got message %d with %d entries, want %d", m.From, m.Index, len(m.Entries), want.Index)
				return
			}
			next[m.From] = m.Index
		}
	})
	wg.Wait()

	select {
	case b := <-results:
		var res struct {
			OK     bool
			Errors []string
			Millis int64
			Stats  []PeerStats
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatalf("result %s: %v", b, err)
		}
		for _, e := range res.Errors {
			t.Errorf("in the browser: %s", e)
		}
		for _, p := range res.Stats {
			t.Logf("tab link to %d: %s, %d opens, %d failures, %d dropped, %d writer pauses, received %d messages (%d KiB on the wire); queued %d, sent %d (%d KiB), %d waiting, buffered %d, stale counters %d",
				p.ID, p.State, p.Opens, p.Failures, p.Dropped(), p.WriterPauses, p.Wire.MessagesReceived, p.Wire.WireBytesReceived>>10,
				p.MessagesQueued, p.Wire.MessagesSent, p.Wire.WireBytesSent>>10, p.QueuedMessages, p.BufferedAmount, p.StaleBuffered)
		}
		t.Logf("the tab's exchange took %d ms", res.Millis)
	case <-time.After(2 * waitTimeout):
		t.Fatal("no result from the browser")
	}
	for _, p := range native.Stats().Peers {
		if p.Dropped() != 0 || p.Opens != 1 {
			t.Errorf("native link to %d: %d dropped, %d opens", p.ID, p.Dropped(), p.Opens)
		}
	}
}

// probeMessage is jsprobe's message: every 100th carries an entry of big
// random bytes seeded by from and i.
func probeMessage(from, to raft.NodeID, i uint64, big int) raft.Message {
	m := raft.Message{Type: raft.MsgApp, From: from, To: to, Term: 1, Index: i}
	if i%100 == 0 && big > 0 {
		rng := rand.New(rand.NewPCG(uint64(from), i)) // incompressible
		data := make([]byte, big)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		m.Entries = []raft.Entry{{Term: 1, Index: i, Data: data}}
	}
	return m
}

// consoleLines keeps the page's console messages of chromium's log.
func consoleLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "CONSOLE") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
