#!/usr/bin/env bash
# Debian packages the tests need: podman and friends for Molecule, chromium for browser tests,
# PostgreSQL server binaries for the database bootstrap test (the service itself stays off),
# zstd for the Molecule kit's airgap images archive, rclone for the cluster backup's bucket copy
# test, strace for the no-outbound-calls test, prometheus (with promtool) for the monitoring
# tests (started by the tests only; the package's own service is not needed).
# Installs only what is missing; needs root (or says what to install).
set -euo pipefail
packages=(podman runc crun fuse-overlayfs debootstrap slirp4netns uidmap chromium postgresql zstd rclone prometheus strace)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
