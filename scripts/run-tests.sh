#!/usr/bin/env bash
# Install everything the test suite needs, then run it: linters, then pytest (unit,
# integration with real servers, manifests, browser, Molecule). Arguments go to pytest.
# One line per step; .github/workflows/ci.yml calls the same step scripts.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ci/install.sh
scripts/ci/lint.sh
scripts/molecule-image.sh
scripts/ci/app-image.sh
scripts/ci/pytest.sh "$@"
