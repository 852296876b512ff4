#!/usr/bin/env bash
# PostgreSQL prerequisites for the tests; called by `make postgres` (and so by `make test`).
# Idempotent. Installs Debian's server binaries only: no cluster is created or started here; the
# tests start a throwaway one of their own in a temporary directory (tests/postgres_server.py).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postgresql)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "postgres: apt-get installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh image may have no package lists, or stale ones that point at removed versions.
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "postgres: ${APT_PACKAGES[*]} already installed"
fi
# Debian keeps the server binaries off PATH, under the major version's directory.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
# The Debian package may start its own cluster; the tests do not use it, so it is left alone.
