#!/usr/bin/env bash
# Runs Go tests compiled for the browser (GOOS=js GOARCH=wasm) in headless
# Chromium, through agnivade/wasmbrowsertest as go test's -exec:
#
#   scripts/jstest.sh ./wasm/idbstore ./peer/wire ./peer/board
#   scripts/jstest.sh -run='^$' -bench=Save ./wasm/idbstore
#
# Every argument goes to `go test` (flags and packages). Environment:
#   CHROME            the browser to use (default: chromium, chromium-browser,
#                     google-chrome or google-chrome-stable from PATH; Debian's
#                     chromium is installed when none is found and running as root)
#   WASMBROWSERTEST   a wasmbrowsertest binary to use instead of building one
#                     (see wasmbrowsertest.sh)
#   WASM_HEADLESS=off shows the browser window (wasmbrowsertest's own switch)
#
# As root, chromedp passes --no-sandbox to the browser by itself.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

if [ $# -eq 0 ]; then
	echo "usage: $0 [go test flags] packages..." >&2
	exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The test runner.
exec_bin="$("$here/wasmbrowsertest.sh")"

# The browser: chromedp takes the first of headless_shell, chromium, ...
# on PATH, so a headless_shell in front of PATH decides which one runs.
browser="${CHROME:-}"
if [ -z "$browser" ]; then
	for name in chromium chromium-browser google-chrome google-chrome-stable; do
		if browser="$(command -v "$name")"; then
			break
		fi
		browser=""
	done
fi
if [ -z "$browser" ]; then
	"$root/scripts/ensure-chromium.sh"
	browser="$(command -v chromium)"
fi
if [ ! -x "$browser" ]; then
	echo "jstest: $browser is not an executable browser" >&2
	exit 1
fi
mkdir -p "$tmp/path"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$browser" >"$tmp/path/headless_shell"
chmod +x "$tmp/path/headless_shell"

# wasmbrowsertest's chromedp predates some of the browser's protocol
# events and logs a line for each one it cannot parse: drop those.
set +e
PATH="$tmp/path:$PATH" GOOS=js GOARCH=wasm go test -exec "$exec_bin" "$@" 2>&1 |
	grep --line-buffered -v 'ERROR: could not unmarshal event: unknown IPAddressSpace value'
status=("${PIPESTATUS[@]}")
set -e
exit "${status[0]}"
