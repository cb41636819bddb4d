//go:build !js

package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// benchServerEnv, set to 1, makes this test binary a bare signaling server
// for BenchmarkRelay (see serveBenchServer).
const benchServerEnv = "TABRAFT_SIGNAL_BENCH_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(benchServerEnv) == "1" {
		if err := serveBenchServer(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveBenchServer serves a signaling server on a loopback port, prints
// "addr HOST:PORT", then answers commands read from in, one a line:
// "settled" (GC, then print HeapInuse and restart peak tracking) and "peak"
// (print the highest HeapInuse sampled every 10 ms since). It ends when in
// ends.
func serveBenchServer(in io.Reader, out io.Writer) error {
	s, err := New(benchConfig())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: s.Handler()}
	go hs.Serve(ln)

	var peak atomic.Uint64
	go func() {
		var ms runtime.MemStats
		for range time.Tick(10 * time.Millisecond) {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()

	fmt.Fprintln(out, "addr", ln.Addr())
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch sc.Text() {
		case "settled":
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak.Store(ms.HeapInuse)
			fmt.Fprintln(out, ms.HeapInuse)
		case "peak":
			fmt.Fprintln(out, peak.Load())
		default:
			fmt.Fprintln(out, "?")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Shutdown(ctx)
	return hs.Shutdown(ctx)
}

// benchServerProcess is a signaling server in a child process.
type benchServerProcess struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	wsURL string
}

// startBenchServerProcess starts this test binary as a bench server.
func startBenchServerProcess(b testing.TB) *benchServerProcess {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &benchServerProcess{cmd: cmd, in: in, out: bufio.NewScanner(outPipe)}
	b.Cleanup(func() {
		p.in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(waitTimeout):
			cmd.Process.Kill()
			<-done
		}
	})
	line := p.line(b)
	addr, ok := strings.CutPrefix(line, "addr ")
	if !ok {
		b.Fatalf("bench server said %q", line)
	}
	p.wsURL = "ws://" + addr + WebSocketPath
	return p
}

func (p *benchServerProcess) line(b testing.TB) string {
	b.Helper()
	if !p.out.Scan() {
		b.Fatalf("bench server ended: %v", p.out.Err())
	}
	return p.out.Text()
}

func (p *benchServerProcess) ask(b testing.TB, cmd string) uint64 {
	b.Helper()
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		b.Fatal(err)
	}
	line := p.line(b)
	n, err := strconv.ParseUint(line, 10, 64)
	if err != nil {
		b.Fatalf("bench server answered %q to %s", line, cmd)
	}
	return n
}

func (p *benchServerProcess) settled(b testing.TB) uint64 { return p.ask(b, "settled") }
func (p *benchServerProcess) peak(b testing.TB) uint64    { return p.ask(b, "peak") }
func (p *benchServerProcess) close()                      {}
