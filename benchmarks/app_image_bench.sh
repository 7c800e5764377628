#!/usr/bin/env bash
# Application image figures for BENCHMARKS.md: uncompressed size, the ten largest directories
# inside it (what dominates), a cold build (podman build --no-cache: every wheel fetched and
# installed again; the base image is kept) and a cached rebuild. Runs scripts/app-image.sh; APP_IMAGE_BASE as there.
#   benchmarks/app_image_bench.sh            size and top directories of the current image
#   benchmarks/app_image_bench.sh --build    also time a cold build and a cached rebuild
set -euo pipefail
cd "$(dirname "$0")/.."
export APP_IMAGE_BASE="${APP_IMAGE_BASE:-local}"

if [ "${1:-}" = --build ]; then
  start=$(date +%s.%N)
  FORCE=1 NO_CACHE=1 scripts/app-image.sh >/dev/null
  cold=$(echo "$(date +%s.%N) - $start" | bc)
  start=$(date +%s.%N)
  FORCE=1 scripts/app-image.sh >/dev/null
  cached=$(echo "$(date +%s.%N) - $start" | bc)
  printf 'cold build: %.0f s\ncached rebuild: %.0f s\n' "$cold" "$cached"
fi

tag="$(scripts/app-image.sh 2>/dev/null)"
size=$(podman image inspect --format '{{.Size}}' "$tag")
printf 'image %s: %.0f MB uncompressed\n' "$tag" "$(echo "$size / 1000000" | bc -l)"
echo "largest directories (MB):"
podman run --rm --ulimit=nofile=20000:20000 --ulimit=nproc=32768:32768 --user 0 --entrypoint sh "$tag" -c \
  'du -xm --max-depth=1 /opt/venv/lib/python3.11/site-packages /usr /opt/airflow 2>/dev/null \
   | sort -rn | grep -v -E " (/usr|/opt/venv/lib/python3.11/site-packages|/opt/airflow)$" | head -10'
echo "byte code share (MB):"
podman run --rm --ulimit=nofile=20000:20000 --ulimit=nproc=32768:32768 --user 0 --entrypoint sh "$tag" -c \
  'find /opt/venv -name "*.pyc" -print0 | du -cm --files0-from=- | tail -1'
