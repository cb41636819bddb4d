// Package e2e holds tabraft's end-to-end tests: the demo page in several
// tabs of one headless Chromium, against the real tabraft-signal binary
// (and, in one test, a native tabraft-peer in the same room), driven
// through the page's hooks (window.tabraftReady, window.tabraftMember and
// the element ids of web/demo.md).
//
// The tests need Chromium and run only when TABRAFT_BROWSER_TEST is set:
//
//	TABRAFT_BROWSER_TEST=1 go test -count=1 ./e2e
//
// TestThreeTabs leaves a screenshot of the demo in out/e2e/demo.png.
package e2e
