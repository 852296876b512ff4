#!/usr/bin/env bash
# nginx for the deployment tests; called by `make nginx` (and so by `make test`). Idempotent.
# Installs Debian's nginx binary only: the tests run their own nginx as the current user, with a
# config rendered from docs/deployment.md into a temporary directory (tests/deployment/nginx.py).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(nginx)

bash scripts/apt_packages.sh nginx "${APT_PACKAGES[@]}"
/usr/sbin/nginx -v
# The Debian package may start its own nginx on port 80; the tests do not use it, so it is left alone.
