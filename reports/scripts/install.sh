#!/usr/bin/env bash
# Installs what the Evidence reports and their browser tests need, skipping what is already there:
#   1. Debian's chromium (the browser tests drive it with playwright-core; no browser download from npm)
#   2. reports/node_modules from the committed package-lock.json (`npm ci`, whose postinstall
#      applies the offline DuckDB patch, see scripts/patch-offline-duckdb.mjs)
# Usage: reports/scripts/install.sh [--no-browser | --browser-only]
set -euo pipefail

REPORTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"

install_chromium() {
	if [ -x "$CHROMIUM" ]; then
		echo "reports: chromium present ($("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"))"
		return
	fi
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
			echo "reports: chromium missing and not root (no sudo): run 'apt-get install -y chromium' as root" >&2
			return 1
		fi
	fi
	echo "reports: installing Debian chromium..."
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
	"$CHROMIUM" --version
}

# node_modules is current when it was installed from exactly these inputs.
install_node_modules() {
	cd "$REPORTS_DIR"
	local stamp=node_modules/.install-stamp
	local want
	want="$(cat package.json package-lock.json scripts/patch-offline-duckdb.mjs scripts/offline-duckdb/*.js | sha256sum | cut -d' ' -f1)"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		echo "reports: node_modules up to date"
		return
	fi
	echo "reports: npm ci..."
	npm ci --no-audit --no-fund --loglevel=error
	echo "$want" >"$stamp"
}

case "${1:-}" in
	--no-browser) install_node_modules ;;
	--browser-only) install_chromium ;;
	"") install_chromium && install_node_modules ;;
	*) echo "usage: $0 [--no-browser | --browser-only]" >&2; exit 2 ;;
esac
