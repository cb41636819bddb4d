#!/usr/bin/env bash
# Prints the path of a wasmbrowsertest binary (the GOOS=js test runner for
# headless Chromium), building it first when missing: $WASMBROWSERTEST if
# set, else one built standalone, at a pinned version, into the user's
# cache. Built inside this module it would link this module's newer chromedp,
# whose API it does not compile against.
set -euo pipefail
if [ -n "${WASMBROWSERTEST:-}" ]; then
	echo "$WASMBROWSERTEST"
	exit 0
fi
mod=github.com/agnivade/wasmbrowsertest
ver=v0.11.0 # the runner's version; it is not a dependency of this module
cache="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tabraft/wasmbrowsertest-$ver"
bin="$cache/wasmbrowsertest"
if [ ! -x "$bin" ]; then
	echo "building $mod@$ver into $cache" >&2
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$cache" "$tmp/bin"
	(cd "$tmp" && env -u GOOS -u GOARCH GOFLAGS=-buildvcs=false GOWORK=off GOBIN="$tmp/bin" \
		go install "$mod@$ver")
	mv "$tmp/bin/wasmbrowsertest" "$bin" # atomic: concurrent runs never see half a binary
fi
echo "$bin"
