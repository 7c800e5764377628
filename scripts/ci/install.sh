#!/usr/bin/env bash
# CI step: the Debian packages the tests need, then the venv from requirements.lock.
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== install"
scripts/system-packages.sh
scripts/bootstrap.sh
