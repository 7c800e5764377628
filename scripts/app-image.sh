#!/usr/bin/env bash
# Build the application image from containers/Containerfile with podman and print its tag,
# localhost/house-price-appliance:<project version>-<context hash> (scripts/context_hash.py).
# Idempotent: does nothing when that tag exists already (FORCE=1 rebuilds it, NO_CACHE=1
# without podman's layer cache).
#
# APP_IMAGE_BASE chooses the base image (the Containerfile's BASE_IMAGE):
#   public  versions.yml images.python, fully qualified; podman pulls it when missing.
#   local   localhost/python-base:3.11-bookworm, Debian 12 with its python3.11 made here with
#           debootstrap from this machine's own Debian mirror (no registry needed; FORCE_BASE=1
#           remakes it). The default when CI=true: CI machines reach no image registry.
# pip inside the build uses this machine's own pip configuration (`pip config list`): its
# index, extra indexes, find-links and CA bundle go in as build arguments, and local
# directories among them are mounted read-only into the build. Nothing of them is written
# into the repository or left in the image.
# Progress goes to stderr; stdout is the tag alone.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE_NAME="${APP_IMAGE_NAME:-localhost/house-price-appliance}"
LOCAL_BASE="${APP_IMAGE_LOCAL_BASE:-localhost/python-base:3.11-bookworm}"
SUITE=bookworm
if [ -n "${APP_IMAGE_BASE:-}" ]; then
  BASE_CHOICE="$APP_IMAGE_BASE"
elif [ "${CI:-}" = true ]; then
  BASE_CHOICE=local
else
  BASE_CHOICE=public
fi

log() { echo "app-image: $*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and rootful podman need it)"
command -v podman >/dev/null || die "'podman' is missing: apt-get install -y podman runc"
PYTHON=$(command -v python3.11 || command -v python3) || die "python3 (3.11) is missing"

TAG="$IMAGE_NAME:$("$PYTHON" scripts/context_hash.py --tag)"
if [ "${FORCE:-0}" != 1 ] && podman image exists "$TAG"; then
  log "$TAG already exists, nothing to do"
  echo "$TAG"
  exit 0
fi

public_base() {
  "$PYTHON" - <<'PY'
import pathlib, re
text = pathlib.Path("versions.yml").read_text()
block = re.search(r"^  python:\n((?:    .*\n)+)", text, re.MULTILINE).group(1)
pin = dict(re.findall(r"^    (\w+): \"?([^\"\n]+)\"?$", block, re.MULTILINE))
print(f"{pin['registry']}/{pin['repository']}:{pin['tag']}")
PY
}

debian_mirror() {
  local mirror="${DEBIAN_MIRROR:-}"
  if [ -z "$mirror" ]; then
    mirror="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)"
  fi
  [ -n "$mirror" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set DEBIAN_MIRROR"
  echo "$mirror"
}

build_local_base() {
  if [ "${FORCE_BASE:-0}" != 1 ] && podman image exists "$LOCAL_BASE"; then
    log "base $LOCAL_BASE already exists"
    return
  fi
  command -v debootstrap >/dev/null || die "'debootstrap' is missing: apt-get install -y debootstrap"
  local mirror rootfs
  mirror="$(debian_mirror)"
  rootfs="$(mktemp -d /var/tmp/python-base-rootfs.XXXXXX)"
  # shellcheck disable=SC2064 # expand now: the trap must remove this very directory
  trap "rm -rf '$rootfs'" EXIT
  log "debootstrap $SUITE with python3.11 from $mirror"
  # python3-venv: the Containerfile installs into a venv at /opt/venv on either base.
  # tzdata and netbase: what python:slim has and Airflow, pendulum and sockets look up.
  debootstrap --variant=minbase \
    --include=python3,python3-venv,ca-certificates,tzdata,netbase \
    "$SUITE" "$rootfs" "$mirror" >/var/tmp/debootstrap-python-base.log 2>&1 \
    || { tail -20 /var/tmp/debootstrap-python-base.log >&2; die "debootstrap failed (log: /var/tmp/debootstrap-python-base.log)"; }
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  tar -C "$rootfs" -c . | podman import --change 'CMD ["python3"]' - "$LOCAL_BASE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  log "built base $LOCAL_BASE"
}

case "$BASE_CHOICE" in
  local) build_local_base; BASE="$LOCAL_BASE"; PULL=never ;;
  public) BASE="$(public_base)"; PULL=missing ;;
  *) die "APP_IMAGE_BASE must be 'local' or 'public', not '$BASE_CHOICE'" ;;
esac

# This machine's pip settings, environment first (pip's own precedence), then its config files.
# The first pip that answers: a venv made by uv (the project's .venv) has none.
pip_config=""
for pip in "$PYTHON -m pip" "python3 -m pip" pip3 pip "/usr/bin/python3 -m pip"; do
  if pip_config="$($pip config list 2>/dev/null)"; then break; fi
  pip_config=""
done
[ -n "$pip_config" ] || log "no pip configuration found: pip in the build uses its defaults"
pip_setting() {
  local value
  value="$(echo "$pip_config" \
    | sed -n "s/^:env:\.$1='\(.*\)'$/\1/p; s/^[a-z]*\.$1='\(.*\)'$/\1/p" | head -1)"
  echo "$value"
}
build_args=()
mounts=()
mounted=" "
# A local simple index links its files relative to itself (../../files/...): mount its parent.
mount_local() {
  local path="${1#file://}"
  [ "$2" = index ] && path="$(dirname "${path%/}")"
  case "$path" in
    /*) if [ -e "$path" ] && [[ "$mounted" != *" $path "* ]]; then
          mounts+=("--volume=$path:$path:ro"); mounted+="$path "
        fi ;;
  esac
}
for setting in index-url extra-index-url find-links; do
  value="$(pip_setting "$setting")"
  [ -n "$value" ] || continue
  variable="PIP_$(echo "$setting" | tr 'a-z-' 'A-Z_')"
  build_args+=("--build-arg=$variable=$value")
  kind=index; [ "$setting" = find-links ] && kind=links
  for entry in $value; do mount_local "$entry" "$kind"; done
done
# The host's CA bundle, for a machine whose pip reaches its index through its own CA.
cert="$(pip_setting cert)"
if [ -n "$cert" ] && [ -f "$cert" ]; then
  mounts+=("--volume=$cert:/run/host-pip/ca.pem:ro")
  build_args+=("--build-arg=PIP_CERT=/run/host-pip/ca.pem")
fi

version="${TAG##*:}"
log "building $TAG on $BASE"
start=$SECONDS
podman build \
  --pull="$PULL" \
  ${NO_CACHE:+--no-cache} \
  --file=containers/Containerfile \
  --ignorefile=containers/containerignore \
  --build-arg="BASE_IMAGE=$BASE" \
  --build-arg="APP_VERSION=${version%-*}" \
  --build-arg="CONTENT_HASH=${version##*-}" \
  "${build_args[@]}" \
  "${mounts[@]}" \
  --tag="$TAG" \
  . >&2
log "built $TAG in $((SECONDS - start)) s"
echo "$TAG"
