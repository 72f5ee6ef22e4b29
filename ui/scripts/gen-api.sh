#!/usr/bin/env bash
# Regenerates what the UI takes from the Python side, so nothing of the API or the definition
# model is copied by hand: the API's types (from its OpenAPI document, dumped without a server)
# and the definition JSON Schemas (the forms are generated from them).
# Usage: ui/scripts/gen-api.sh [path/to/python]   (default: the repo's .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-../.venv/bin/python}
mkdir -p src/api/generated
"$PY" -m headwater openapi > openapi.json
"$PY" -m headwater schema workflow > src/api/generated/workflow.schema.json
"$PY" -m headwater schema rule > src/api/generated/rule.schema.json
npx --no-install openapi-typescript openapi.json -o src/api/schema.d.ts >/dev/null
