#!/usr/bin/env bash
# The e-documents' system packages; called by `make documents` (and so by `make run` and
# `make test`). Idempotent.
#  * fonts-noto-cjk: the CJK font the passport e-document PDF embeds (services/edocument_pdf.py).
#  * poppler-utils: pdftoppm and pdftotext, with which the tests render and read that PDF.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/apt_packages.sh documents fonts-noto-cjk poppler-utils
