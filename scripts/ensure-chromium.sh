#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed, for the browser tests: installs
# it when missing and running as root, else says what to do and fails.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "installing chromium (Debian package) for the browser tests..."
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq chromium >/dev/null
	exit 0
fi
echo "The browser tests need Chromium: install Debian's 'chromium' package (apt-get install -y chromium) or run make test as root." >&2
exit 1
