#!/usr/bin/env bash
# Builds the web UI into projections/ui (where the API serves it at /ui) when its sources
# changed since the last build: a stamp holds a hash of everything the build reads.
# `npm ci` runs only when the lockfile changed. Without node/npm it says so and stops (exit 0):
# the API then answers /ui with a page saying the UI is not built.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=../projections/ui
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "ui: node and npm are not installed; the web UI is not built (the API still runs)" >&2
  exit 0
fi
inputs() {
  local path
  for path in src public index.html vite.config.ts route-preload.ts tsconfig.json package.json package-lock.json; do
    [ -e "$path" ] && find "$path" -type f
  done | LC_ALL=C sort
}
hash=$(inputs | xargs cat | sha256sum | cut -c1-32)
lock=$(sha256sum package-lock.json | cut -c1-32)
if [ "$(cat node_modules/.headwater-lock 2>/dev/null)" != "$lock" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" > node_modules/.headwater-lock
fi
if [ "$(cat "$OUT/.build-stamp" 2>/dev/null)" = "$hash" ] && [ -f "$OUT/index.html" ]; then
  exit 0
fi
npm run --silent build
echo "$hash" > "$OUT/.build-stamp"
