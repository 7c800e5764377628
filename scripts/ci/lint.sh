#!/usr/bin/env bash
# CI step: every linter the project is held to (needs scripts/ci/install.sh first).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== lint"
ruff check .
ruff format --check .
if [ -f .yamllint ]; then yamllint --strict .; fi
if [ -d roles ] && [ -f .ansible-lint ]; then ansible-lint --offline; fi
