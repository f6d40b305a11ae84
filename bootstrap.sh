#!/usr/bin/env bash
# Set up Preflight in ./.venv with a Python 3.12+ interpreter found on this machine.
#   bash bootstrap.sh          install the package (with the dashboard's Solara)
#   bash bootstrap.sh --test   install the package, the test tools and headless Chromium (report test)
set -euo pipefail
cd "$(dirname "$0")"

find_python() {
  local cand
  for cand in "${PREFLIGHT_PYTHON:-}" python3.13 python3.12 python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(0 if (3,12) <= sys.version_info[:2] < (3,14) else 1)' 2>/dev/null; then
      command -v "$cand"; return 0
    fi
  done
  # pyenv installs (the bare shims refuse when pyenv's global version is older)
  for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 \
              /usr/local/bin/python3.12 /usr/bin/python3.12; do
    if [ -x "$cand" ] && "$cand" -c 'import sys' 2>/dev/null; then echo "$cand"; return 0; fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3,12) else 1)' 2>/dev/null; then
  PY=$(find_python) || { echo "bootstrap: no Python 3.12 or 3.13 found (set PREFLIGHT_PYTHON=/path/to/python3.12)" >&2; exit 2; }
  echo "bootstrap: creating .venv with $PY"
  rm -rf .venv
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install -q -e ".[test,ray,dashboard]"
  bash .ci/install_chromium.sh
else
  .venv/bin/python -m pip install -q -e ".[dashboard]"
fi
echo "bootstrap: ready ($(.venv/bin/python --version))"
