#!/usr/bin/env bash
# Browser-test prerequisites; called by `make browser` (and so by `make test`). Idempotent.
#  * Debian `chromium` at /usr/bin/chromium: Playwright drives it through executable_path, so no
#    browser is ever downloaded by `playwright install`.
#  * CJK fonts, so Chinese text renders (and the screenshots in docs/screenshots/ show it).
#  * axe-core from the npm registry into .cache/npm (gitignored); tests inject axe.min.js.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium fonts-noto-cjk fonts-noto-color-emoji)
AXE_VERSION="${AXE_VERSION:-4.14.1}"
NPM_PREFIX=.cache/npm
AXE_JS="$NPM_PREFIX/node_modules/axe-core/axe.min.js"

bash scripts/apt_packages.sh install_browser "${APT_PACKAGES[@]}"
/usr/bin/chromium --version 2>/dev/null  # (its wrapper script prints a harmless shell warning)

if [ -f "$AXE_JS" ] && grep -q "\"version\": \"$AXE_VERSION\"" "$NPM_PREFIX/node_modules/axe-core/package.json"; then
  echo "install_browser: axe-core $AXE_VERSION already in $NPM_PREFIX"
else
  echo "install_browser: npm installing axe-core@$AXE_VERSION into $NPM_PREFIX"
  mkdir -p "$NPM_PREFIX"
  npm install --silent --no-audit --no-fund --prefix "$NPM_PREFIX" "axe-core@$AXE_VERSION"
fi
test -f "$AXE_JS"

# The Python `playwright` package (driver only) comes with `.[test]` in the virtualenv.
if [ -x .venv/bin/python ]; then
  .venv/bin/python -c "import playwright; print('install_browser: python playwright driver present')"
fi
