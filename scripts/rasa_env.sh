#!/usr/bin/env bash
# Creates .venv-rasa (Python 3.10) with Rasa 3.6 — the NLU peer in benchmarks/nlu_compare and the
# optional engine (CHAT_NLU_ENGINE=rasa). Idempotent: does nothing when Rasa is already installed.
# Rasa 3.6 supports Python <= 3.10 only, hence its own virtualenv reached over its HTTP API.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-rasa
RASA_VERSION=3.6.21
# jieba: Rasa's JiebaTokenizer imports it at train and parse time.
EXTRA="jieba==0.42.1"

if [ -x "$VENV/bin/rasa" ] && "$VENV/bin/python" -c "import rasa, jieba, sys; sys.exit(rasa.__version__ != '$RASA_VERSION')" 2>/dev/null; then
  echo "rasa_env: $VENV already has rasa $RASA_VERSION"
  exit 0
fi

PY310=""
if command -v pyenv >/dev/null 2>&1 && [ -x "$(pyenv root)/versions/3.10.13/bin/python" ]; then
  PY310="$(pyenv root)/versions/3.10.13/bin/python"
elif PYENV_VERSION=3.10.13 python -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  PY310="$(PYENV_VERSION=3.10.13 python -c 'import sys; print(sys.executable)')"
else
  echo "rasa_env: Python 3.10 not found (need pyenv 3.10.13); Rasa 3.6 needs Python <= 3.10" >&2
  exit 1
fi

test -x "$VENV/bin/python" || "$PY310" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade "pip<24.1" "setuptools<70" wheel
"$VENV/bin/python" -m pip install -q "rasa==$RASA_VERSION" $EXTRA
export RASA_TELEMETRY_ENABLED=false
"$VENV/bin/python" -c "import rasa, jieba; print('rasa_env: installed rasa', rasa.__version__)"
