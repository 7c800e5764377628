#!/usr/bin/env bash
# Install everything the test suite needs, then run it: linters, then pytest (unit,
# integration with real servers, manifests, browser, Molecule). Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/system-packages.sh
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== lint"
ruff check .
ruff format --check .
if [ -f .yamllint ]; then yamllint --strict .; fi
if [ -d roles ] && [ -f .ansible-lint ]; then ansible-lint --offline; fi

echo "== Molecule base image"
scripts/molecule-image.sh

# These machines reach no image registry: the app image is built on a Debian 12 base made
# here with debootstrap (APP_IMAGE_BASE=public builds on versions.yml images.python instead).
echo "== application image"
APP_IMAGE_BASE="${APP_IMAGE_BASE:-local}" scripts/app-image.sh

echo "== tests"
mkdir -p artifacts
exec pytest -p no:cacheprovider "$@"
