#!/usr/bin/env bash
# A developer's local preview of the built site (reports/build/), on 127.0.0.1 only and WITHOUT sign-in.
# Users get the site from the Copilot API (python -m api serve), behind the sign-in, for the roles that
# may see the whole portfolio.
# Usage: reports/scripts/serve.sh [port]   (default: $REPORTS_PORT or 3001; Dagster has 3000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port="${1:-${REPORTS_PORT:-3001}}"
if [ ! -f build/index.html ]; then
	echo "reports: no build/ yet; run reports/scripts/build.sh first" >&2
	exit 1
fi
echo "reports: http://127.0.0.1:${port}/"
# NO_UPDATE_CHECK: `serve` otherwise asks the npm registry for a newer version on start.
NO_UPDATE_CHECK=1 exec node_modules/.bin/serve build --listen "tcp://127.0.0.1:${port}" --no-clipboard --no-port-switching
