#!/usr/bin/env bash
# CI step: pytest with the given selection (paths, -m, -k ...); no arguments runs every suite.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== tests ${*:-(all)}"
mkdir -p artifacts
exec pytest -p no:cacheprovider "$@"
