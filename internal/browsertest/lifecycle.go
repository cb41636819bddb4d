//go:build !js

package browsertest

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// crashWait is how long Crash waits for Page.crash, which never answers
// when it works.
const crashWait = 2 * time.Second

// ThrottlingOn are NewBrowser options that take back the flags of
// chromedp's defaults that switch background throttling off: with them, a
// hidden tab's timers are throttled as in a user's browser.
func ThrottlingOn() []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("disable-background-timer-throttling", false),
		chromedp.Flag("disable-backgrounding-occluded-windows", false),
		chromedp.Flag("disable-renderer-backgrounding", false),
	}
}

// BringToFront activates the tab (Page.bringToFront): the tab in front
// before it becomes hidden.
func (tab *Tab) BringToFront() error {
	return tab.do(EvalTimeout, func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.BringToFront, cdp.Empty{})
		return err
	})
}

// do runs f on the tab's target, giving up after timeout.
func (tab *Tab) do(timeout time.Duration, f func(ctx context.Context, t *chromedp.Target) error) error {
	ctx, cancel := context.WithTimeout(tab.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Func(f))
}

// Crash crashes the tab's renderer (Page.crash): the page gets no
// pagehide, as when a tab's process dies. The tab is then closed.
func (tab *Tab) Crash() error {
	ctx, cancel := context.WithTimeout(tab.ctx, crashWait)
	defer cancel()
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.Crash, cdp.Empty{})
		return err
	}))
	tab.Close()
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("crashing the tab: %w", err)
	}
	return nil // Page.crash does not answer: the renderer is gone
}

// Minimize minimizes the tab's window (Browser.setWindowBounds); in
// headless Chromium each tab has a window of its own, and a minimized one
// is hidden (document.visibilityState "hidden"). Restore undoes it.
func (tab *Tab) Minimize() error { return tab.windowState(browser.WindowStateMinimized) }

// Restore brings the tab's window back to its normal state.
func (tab *Tab) Restore() error { return tab.windowState(browser.WindowStateNormal) }

func (tab *Tab) windowState(s browser.WindowState) error {
	return tab.do(EvalTimeout, func(ctx context.Context, t *chromedp.Target) error {
		w, err := chromedp.Call(ctx, browser.GetWindowForTarget, browser.GetWindowForTargetParams{TargetID: t.TargetID})
		if err != nil {
			return fmt.Errorf("the tab's window: %w", err)
		}
		if _, err := chromedp.CallBrowser(ctx, browser.SetWindowBounds, browser.SetWindowBoundsParams{WindowID: w.WindowID, Bounds: &browser.Bounds{WindowState: s}}); err != nil {
			return fmt.Errorf("setting the tab's window %s: %w", s, err)
		}
		return nil
	})
}

// Freeze freezes the tab's page (Page.setWebLifecycleState "frozen"), as
// Chromium freezes a background tab to save power: no task of the page
// runs (timers, network events, message handlers) until Thaw. The page
// gets a freeze event, and a resume event when thawed.
func (tab *Tab) Freeze() error { return tab.lifecycle(page.SetWebLifecycleStateStateFrozen) }

// Thaw makes a frozen tab's page active again.
func (tab *Tab) Thaw() error { return tab.lifecycle(page.SetWebLifecycleStateStateActive) }

func (tab *Tab) lifecycle(s page.SetWebLifecycleStateState) error {
	return tab.do(EvalTimeout, func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: s}); err != nil {
			return fmt.Errorf("setting the page's lifecycle state %s: %w", s, err)
		}
		return nil
	})
}
