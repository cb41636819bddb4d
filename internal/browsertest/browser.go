//go:build !js

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// EvalTimeout bounds one Eval.
const EvalTimeout = 60 * time.Second

// Browser is a headless Chromium; its tabs share one profile (one origin's
// IndexedDB and localStorage, as tabs of one browser do).
type Browser struct {
	ctx context.Context
}

// NewBrowser starts Chromium (closed when t ends) with chromedp's default
// flags, which switch background-tab throttling off, plus opts.
func NewBrowser(t testing.TB, opts ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	b, closeFn, err := LaunchBrowser(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return b
}

// Tab is one tab of a Browser.
type Tab struct {
	// Name names the tab in failure reports.
	Name    string
	ctx     context.Context
	cancel  context.CancelFunc
	console *lockedBuffer
}

// Open opens a new tab on url; it is closed when t ends, and its console
// is reported if t failed.
func (b *Browser) Open(t testing.TB, url string) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tab := &Tab{ctx: ctx, cancel: cancel, console: &lockedBuffer{}}
	if err := chromedp.Listen(ctx, tab.listen); err != nil {
		cancel()
		t.Fatalf("opening a tab: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		cancel()
		t.Fatalf("opening %s: %v", url, err)
	}
	tab.Name = fmt.Sprintf("tab %p", tab)
	t.Cleanup(func() {
		tab.Close()
		if t.Failed() {
			t.Logf("console of %s:\n%s", tab.Name, tab.Console())
		}
	})
	return tab
}

// Close closes the tab (the page gets pagehide). Closing twice is harmless.
func (tab *Tab) Close() { tab.cancel() }

// Console returns what the tab logged to its console so far, and its
// uncaught exceptions.
func (tab *Tab) Console() string { return tab.console.String() }

// listen keeps the console; it runs in chromedp's reading loop: no commands.
func (tab *Tab) listen(ev any) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			switch {
			case a.Type == runtime.RemoteObjectTypeString:
				var s string
				if err := json.Unmarshal(a.Value, &s); err == nil {
					parts = append(parts, s)
					continue
				}
				parts = append(parts, string(a.Value))
			case len(a.Value) > 0:
				parts = append(parts, string(a.Value))
			default:
				parts = append(parts, a.Description)
			}
		}
		fmt.Fprintf(tab.console, "%s %s: %s\n", time.Now().Format("15:04:05.000"), e.Type, strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		fmt.Fprintf(tab.console, "%s uncaught: %s\n", time.Now().Format("15:04:05.000"), msg)
	}
}

// EvalErr evaluates the JavaScript expression expr in tab, awaits the
// Promise it returns, if any, and decodes the result (JSON) into a T.
func EvalErr[T any](tab *Tab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tab.ctx, EvalTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// Eval is EvalErr failing t on error.
func Eval[T any](t testing.TB, tab *Tab, expr string) T {
	t.Helper()
	v, err := EvalErr[T](tab, expr)
	if err != nil {
		t.Fatalf("%s: evaluating %s: %v", tab.Name, abbreviate(expr), err)
	}
	return v
}

// Do evaluates expr, ignoring its result.
func Do(t testing.TB, tab *Tab, expr string) {
	t.Helper()
	Eval[chromedp.Void](t, tab, expr)
}

func abbreviate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// WaitFor polls cond until it holds, failing t after timeout. cond may
// evaluate JavaScript; its last error is reported.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s (last error: %v)", timeout, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// DoActions runs chromedp actions in tab (navigation, input…).
func DoActions(tab *Tab, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(tab.ctx, EvalTimeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}
