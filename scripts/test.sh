#!/usr/bin/env bash
# Runs every check and test; called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Static checks first (seconds): lint, the floors (which package may import which), types.
$PY -m ruff check .
"$(dirname "$PY")/lint-imports"
$PY -m mypy
$PY -m retrieval check
# One test process per core, at most 4 (pytest-xdist): each starts its own servers, browsers and
# PostgreSQL, so more would trade memory for little. TEST_WORKERS=0 runs them in this one process.
cores=$(nproc)
$PY -m pytest --numprocesses "${TEST_WORKERS:-$(( cores < 4 ? cores : 4 ))}" "$@"
