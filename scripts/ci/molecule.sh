#!/usr/bin/env bash
# CI step: one Molecule scenario, exactly as a user runs it: molecule test -s <name> from the
# repository root (needs scripts/ci/install.sh and scripts/molecule-image.sh first).
# offline_bundle runs its steps one by one, converge/idempotence/verify inside `unshare -n`
# (loopback only): its prepare cuts the containers off, this cuts the control machine off too.
set -euo pipefail
cd "$(dirname "$0")/../.."
scenario=${1:-}
if [ -z "$scenario" ] || [ ! -f "molecule/$scenario/molecule.yml" ] || [ "$scenario" = shared ]; then
  available=$(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml | cut -d/ -f2 | sort | tr '\n' ' ')
  echo "usage: $0 SCENARIO (one of: ${available% })" >&2
  exit 2
fi
export PATH="$PWD/.venv/bin:$PATH"
echo "== molecule $scenario"
if [ "$scenario" != offline_bundle ]; then
  exec molecule test -s "$scenario"
fi
trap 'molecule destroy -s "$scenario"' EXIT
molecule destroy -s "$scenario"
molecule create -s "$scenario"
molecule prepare -s "$scenario"
for step in converge idempotence verify; do
  unshare -n molecule "$step" -s "$scenario"
done
