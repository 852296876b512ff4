#!/usr/bin/env bash
# Runs every check and test; called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
$PY -m retrieval check
$PY -m pytest "$@"
