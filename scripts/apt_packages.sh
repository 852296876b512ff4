#!/usr/bin/env bash
# Installs the Debian packages named after the caller's label, if any is missing; idempotent.
# Used by install_browser.sh, documents.sh, postgres.sh and nginx.sh:  bash scripts/apt_packages.sh LABEL PKG...
set -euo pipefail
label="$1"
shift

missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "$label: apt-get installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh image may have no package lists, or stale ones that point at removed versions.
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "$label: $* already installed"
fi
