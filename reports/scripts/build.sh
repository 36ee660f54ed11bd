#!/usr/bin/env bash
# Builds the static report site into reports/build/ from a warehouse file, with no network:
#   1. checks that the offline DuckDB patch is in place (scripts/patch-offline-duckdb.mjs --check);
#   2. copies the warehouse's marts into the read copy sources/warehouse/warehouse.duckdb
#      (scripts/snapshot-warehouse.mjs: a consistent READ_ONLY copy; fails if a writer holds the file);
#   3. `evidence sources --strict` (a failing source query fails it) and, in a fresh build/,
#      `evidence build:strict`. Evidence's build still exits 0 when a page query fails (it only logs
#      "<query> | Error in Query!"), so this script fails the build on that line.
# Usage: reports/scripts/build.sh [path/to/warehouse.duckdb]   (default: $COPILOT_WAREHOUSE or data/warehouse.duckdb)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export NO_UPDATE_CHECK=1 # `serve` and friends: no registry look-ups
start=$SECONDS
node scripts/patch-offline-duckdb.mjs --check
node scripts/snapshot-warehouse.mjs "$@"
npm run --silent sources:strict
rm -rf build # Evidence copies into build/ without cleaning it
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
npm run --silent build:strict 2>&1 | tee "$log"
if grep -q '| Error in Query!' "$log"; then
	echo "reports: build FAILED, page queries with errors:" >&2
	grep -A3 '| Error in Query!' "$log" | awk '!seen[$0]++' >&2
	rm -rf build
	exit 1
fi
echo "reports: built $(find build -name index.html | wc -l) pages, $(du -sh build | cut -f1) in $((SECONDS - start)) s -> $(pwd)/build"
