#!/usr/bin/env bash
# PostgreSQL prerequisites for the tests; called by `make postgres` (and so by `make test`).
# Idempotent. Installs Debian's server binaries only: no cluster is created or started here; the
# tests start a throwaway one of their own in a temporary directory (tests/postgres_server.py).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postgresql)

bash scripts/apt_packages.sh postgres "${APT_PACKAGES[@]}"
# Debian keeps the server binaries off PATH, under the major version's directory.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
# The Debian package may start its own cluster; the tests do not use it, so it is left alone.
