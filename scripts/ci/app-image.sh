#!/usr/bin/env bash
# CI step: build the application image. These machines reach no image registry, so the base
# is the Debian 12 python3.11 made here with debootstrap (APP_IMAGE_BASE=public builds on
# versions.yml images.python instead, where docker.io is reachable).
set -euo pipefail
cd "$(dirname "$0")/../.."
APP_IMAGE_BASE="${APP_IMAGE_BASE:-local}" exec scripts/app-image.sh
