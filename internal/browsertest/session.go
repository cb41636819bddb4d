//go:build !js

package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"
)

// This file holds the forms of the helpers that need no testing.TB, for
// programs (cmd/tabraft-bench): they return errors, and the caller stops
// what they start.

// BuildOptions change how BuildIn builds.
type BuildOptions struct {
	// KeepSymbols keeps the wasm's function names (its name section), so
	// that CPU profiles of a tab name Go functions; the build Build makes
	// and the server deploys has none.
	KeepSymbols bool
}

// BuildIn builds the wasm member and the signaling server into dir, as
// Build does.
func BuildIn(dir string, o BuildOptions) (Artifacts, error) {
	root, err := moduleRoot()
	if err != nil {
		return Artifacts{}, err
	}
	a := Artifacts{WasmDir: filepath.Join(dir, "web"), Signal: filepath.Join(dir, "tabraft-signal")}
	if err := os.MkdirAll(a.WasmDir, 0o755); err != nil {
		return Artifacts{}, err
	}
	var wg sync.WaitGroup
	var wasmErr, sigErr error
	ldflags := "-ldflags=-s -w"
	if o.KeepSymbols {
		ldflags = "-ldflags=-w"
	}
	wg.Go(func() {
		wasmErr = goBuild(root, []string{"GOOS=js", "GOARCH=wasm"},
			"-trimpath", ldflags, "-o", filepath.Join(a.WasmDir, "tabraft.wasm"), "./cmd/tabraft-wasm")
	})
	wg.Go(func() { sigErr = goBuild(root, nil, "-o", a.Signal, "./cmd/tabraft-signal") })
	wg.Wait()
	if err := errors.Join(wasmErr, sigErr); err != nil {
		return Artifacts{}, err
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return Artifacts{}, fmt.Errorf("go env GOROOT: %w", err)
	}
	execJS, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return Artifacts{}, err
	}
	if err := os.WriteFile(filepath.Join(a.WasmDir, "wasm_exec.js"), execJS, 0o644); err != nil {
		return Artifacts{}, err
	}
	return a, nil
}

// GoBuild builds the native main package pkg of the module (for example
// "./cmd/tabraft-peer") into the file out.
func GoBuild(pkg, out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	return goBuild(root, nil, "-o", out, pkg)
}

// ModuleRoot returns the directory of tabraft's go.mod.
func ModuleRoot() (string, error) { return moduleRoot() }

// Launch runs the signaling server of a on a free port of 127.0.0.1, as
// StartServer does; stop ends it (SIGTERM, then SIGKILL after 20 s).
func Launch(a Artifacts, args ...string) (s *Server, stop func(), err error) {
	cmd := exec.Command(a.Signal, append([]string{"-addr", "127.0.0.1:0", "-wasm-dir", a.WasmDir, "-log-format", "json"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("starting tabraft-signal: %w", err)
	}
	s = &Server{cmd: cmd, logs: &lockedBuffer{}}
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			s.logs.Write(append(line, '\n'))
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "signaling server listening" && rec.Addr != "" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			<-copied
		})
	}
	select {
	case s.Addr = <-addr:
	case <-time.After(30 * time.Second):
		stop()
		return nil, nil, fmt.Errorf("tabraft-signal did not say where it listens; its log:\n%s", s.logs.String())
	}
	s.URL = "http://" + s.Addr
	return s, stop, nil
}

// LaunchBrowser starts headless Chromium as NewBrowser does, with its
// profile in dir; closeFn stops it.
func LaunchBrowser(dir string, opts ...chromedp.ExecAllocatorOption) (b *Browser, closeFn func(), err error) {
	path, err := chromiumPath()
	if err != nil {
		return nil, nil, err
	}
	all := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
	)
	if os.Geteuid() == 0 {
		all = append(all, chromedp.NoSandbox)
	}
	all = append(all, opts...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), all...)
	ctx, cancel := chromedp.NewContext(actx)
	closeFn = func() {
		cancel()
		cancelAlloc()
	}
	if err := chromedp.Do(ctx); err != nil {
		closeFn()
		return nil, nil, fmt.Errorf("starting chromium: %w", err)
	}
	return &Browser{ctx: ctx}, closeFn, nil
}

// NewTab opens a new tab on url, as Open does; the caller closes it.
func (b *Browser) NewTab(url string) (*Tab, error) {
	ctx, cancel := chromedp.NewContext(b.ctx)
	tab := &Tab{ctx: ctx, cancel: cancel, console: &lockedBuffer{}}
	if err := chromedp.Listen(ctx, tab.listen); err != nil {
		cancel()
		return nil, fmt.Errorf("opening a tab: %w", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		cancel()
		return nil, fmt.Errorf("opening %s: %w", url, err)
	}
	tab.Name = fmt.Sprintf("tab %p", tab)
	return tab, nil
}

// Reload reloads the tab's page (the page gets pagehide, and keeps its
// sessionStorage) and waits for the new page's load event.
func (tab *Tab) Reload() error {
	ctx, cancel := context.WithTimeout(tab.ctx, EvalTimeout)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Reload())
}

// Screenshot returns a PNG of the whole page.
func (tab *Tab) Screenshot() ([]byte, error) {
	ctx, cancel := context.WithTimeout(tab.ctx, EvalTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.FullScreenshot(100))
}

// Poll calls cond until it holds or timeout passes; it then returns an
// error naming what was awaited and cond's last error. It is WaitFor for
// programs.
func Poll(timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting until %s (last error: %v)", timeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
