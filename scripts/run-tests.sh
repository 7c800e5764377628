#!/usr/bin/env bash
# Install everything the test suite needs, then run it: linters, then pytest (unit,
# integration with real servers, manifests, browser, Molecule). Arguments go to pytest.
# One line per step; .github/workflows/ci.yml calls the same step scripts.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ci/install.sh
scripts/ci/lint.sh
scripts/molecule-image.sh
# These machines reach no image registry: the app image is built on a Debian 12 base made
# here with debootstrap (APP_IMAGE_BASE=public builds on versions.yml images.python instead).
APP_IMAGE_BASE="${APP_IMAGE_BASE:-local}" scripts/app-image.sh
scripts/ci/pytest.sh "$@"
