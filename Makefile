# 12367 ONLINE. Two commands do all set-up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DATA   ?= data

.PHONY: run test install build check browser documents rasa postgres nginx bench screenshots clean

run: documents build
	$(PY) -m bot serve --data-dir $(DATA)

test: install browser documents rasa postgres nginx build
	bash scripts/test.sh

install: $(STAMP)

# Torch is pinned to the local CPU build first, so sentence-transformers does not pull CUDA.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# Builds the retrieval index and trains the NLU model; both are cached by content hash
# under $(DATA) and rebuilt only when the corpus, training data or model changed.
build: install
	$(PY) -m retrieval build --data-dir $(DATA)
	$(PY) -m bot.nlu train --data-dir $(DATA)

check: install
	$(PY) -m retrieval check

# Debian Chromium + Playwright driver + axe-core for the browser tests.
browser:
	bash scripts/install_browser.sh

# Debian's CJK font for the e-document PDF, and poppler (pdftoppm) that the tests render it with.
documents:
	bash scripts/documents.sh

# Debian's PostgreSQL server binaries: the tests start a throwaway server on loopback.
postgres:
	bash scripts/postgres.sh

# Debian's nginx: the deployment tests run their own in front of two server nodes.
nginx:
	bash scripts/nginx.sh

# Rasa 3.6 in its own Python 3.10 environment (the NLU peer and optional engine).
rasa:
	bash scripts/rasa_env.sh

bench: build
	$(PY) -m benchmarks.load
	$(PY) -m benchmarks.nlu_compare

# Re-takes the screenshots kept in docs/screenshots (shown in the README) from the browser tests.
screenshots: install browser build
	UPDATE_SCREENSHOTS=1 bash scripts/test.sh tests/handoff/test_console_browser.py tests/widget

clean:
	rm -rf $(DATA) .pytest_cache
