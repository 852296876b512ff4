#!/usr/bin/env bash
# nginx for the deployment tests; called by `make nginx` (and so by `make test`). Idempotent.
# Installs Debian's nginx binary only: the tests run their own nginx as the current user, with a
# config rendered from docs/deployment.md into a temporary directory (tests/deployment/nginx.py).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(nginx)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "nginx: apt-get installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh image may have no package lists, or stale ones that point at removed versions.
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "nginx: ${APT_PACKAGES[*]} already installed"
fi
/usr/sbin/nginx -v
# The Debian package may start its own nginx on port 80; the tests do not use it, so it is left alone.
