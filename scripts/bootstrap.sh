#!/usr/bin/env bash
# Create or update .venv from requirements.lock (Python 3.11). Idempotent: does nothing when
# the lock has not changed since the last run. Package indexes come from this machine's own
# pip configuration (pip config list), never from names written in this repository.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

PYTHON=$(find_python || true)
if [ -z "$PYTHON" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
    PYTHON=$(find_python) || { echo "Python 3.11 is required (Debian 12 ships it)" >&2; exit 1; }
  else
    echo "Python 3.11 is required: install it (Debian 12: apt-get install python3 python3-venv)" >&2
    exit 1
  fi
fi

# Translate the machine's pip configuration into uv's variables.
pip_setting() { "$PYTHON" -m pip config list 2>/dev/null | sed -n "s/^[a-z]*\.$1='\(.*\)'$/\1/p" | head -1; }
index=$(pip_setting index-url); extra=$(pip_setting extra-index-url); links=$(pip_setting find-links)
[ -n "$index" ] && export UV_DEFAULT_INDEX="$index"
[ -n "$extra" ] && export UV_INDEX="$extra"
# pip treats every index alike; uv would otherwise stop at the first index naming a package.
export UV_INDEX_STRATEGY=unsafe-best-match
[ -n "$links" ] && export UV_FIND_LINKS="${links// /,}"

if ! command -v uv >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet uv
fi
UV=$(command -v uv || echo "$("$PYTHON" -m site --user-base)/bin/uv")

stamp=.venv/.requirements.lock.sha256
wanted=$(sha256sum requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi
echo "installing the Python environment into .venv (first time: a few minutes) ..." >&2
[ -x .venv/bin/python ] || "$UV" venv --quiet --python "$PYTHON" .venv
"$UV" pip sync --quiet --python .venv/bin/python requirements.lock
"$UV" pip install --quiet --python .venv/bin/python --no-deps -e .
echo "$wanted" > "$stamp"
