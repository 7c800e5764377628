#!/usr/bin/env bash
# Build the Molecule base image localhost/debian12-systemd (Debian 12 + systemd as PID 1)
# with debootstrap from this machine's own Debian mirror: no image registry is reachable here.
# Idempotent: does nothing when the image already exists (set FORCE=1 to rebuild).
# Also writes the podman settings this sandbox needs (runc, cgroupfs, file events logger)
# as a containers.conf drop-in, unless one is there already.
set -euo pipefail

IMAGE="${MOLECULE_IMAGE:-localhost/debian12-systemd}"
SUITE="${DEBIAN_SUITE:-bookworm}"
CONF_DROPIN=/etc/containers/containers.conf.d/50-molecule-sandbox.conf

die() { echo "molecule-image: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and rootful podman need it)"
for tool in podman debootstrap tar; do
  command -v "$tool" >/dev/null \
    || die "'$tool' is missing: apt-get install -y podman runc crun fuse-overlayfs debootstrap slirp4netns uidmap"
done

if [ ! -f "$CONF_DROPIN" ]; then
  mkdir -p "$(dirname "$CONF_DROPIN")"
  cat >"$CONF_DROPIN" <<'CONF'
# Written by scripts/molecule-image.sh: crun fails here ("cgroups in hybrid mode not
# supported"), and there is no systemd on the host to manage cgroups or journald events.
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  echo "molecule-image: wrote $CONF_DROPIN"
fi

if [ "${FORCE:-0}" != "1" ] && podman image exists "$IMAGE"; then
  echo "molecule-image: $IMAGE already exists, nothing to do"
  exit 0
fi

# The mirror comes from the machine's own apt configuration (deb822 first, then one-line format).
MIRROR="${DEBIAN_MIRROR:-}"
if [ -z "$MIRROR" ]; then
  MIRROR="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
fi
if [ -z "$MIRROR" ] && [ -f /etc/apt/sources.list ]; then
  MIRROR="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)"
fi
[ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set DEBIAN_MIRROR"

ROOTFS="$(mktemp -d /var/tmp/debian12-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT
echo "molecule-image: debootstrap $SUITE from $MIRROR"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,procps,ca-certificates,netbase \
  "$SUITE" "$ROOTFS" "$MIRROR" >/var/tmp/debootstrap-molecule.log 2>&1 \
  || { tail -20 /var/tmp/debootstrap-molecule.log >&2; die "debootstrap failed (log: /var/tmp/debootstrap-molecule.log)"; }

# Containers must not try to run getty on consoles or wait for network devices.
rm -f "$ROOTFS"/etc/systemd/system/getty.target.wants/* \
      "$ROOTFS"/lib/systemd/system/multi-user.target.wants/getty.target
apt-get clean -o RootDir="$ROOTFS" >/dev/null 2>&1 || true
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb

tar -C "$ROOTFS" -c . | podman import \
  --change 'CMD ["/sbin/init"]' --change 'STOPSIGNAL SIGRTMIN+3' - "$IMAGE" >/dev/null
echo "molecule-image: built $IMAGE"
