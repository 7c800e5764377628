#!/bin/sh
# The command lines of the cluster backup and restore, in one place: playbooks/backup.yml and
# restore.yml run them (pg-* inside the PostgreSQL pod through `kubectl exec`, the others on
# the control machine) and tests/manifests/test_backup_commands.py runs the same file against
# a real PostgreSQL and a real S3 server.
#   pg-dump DATABASE              custom-format dump of DATABASE on stdout
#   pg-restore DATABASE           restore a custom-format dump read on stdin into DATABASE,
#                                 replacing what is there (one transaction: all or nothing)
#   bucket-copy SOURCE TARGET     rclone copy between two rclone paths, then check both sides
#   manifest DIR                  write DIR/MANIFEST.sha256 (sha256 of every other file)
#   verify DIR                    check DIR against its manifest: every file listed, none extra
# PostgreSQL: connection from the libpq environment (PGHOST, PGUSER, ...); the pod's local
# socket by default. rclone remotes from the environment (RCLONE_CONFIG_<REMOTE>_...).
set -eu
action=${1:-}
case "$action" in
  pg-dump)
    exec pg_dump --format=custom --compress=6 --dbname="$2"
    ;;
  pg-restore)
    exec pg_restore --clean --if-exists --single-transaction --exit-on-error --dbname="$2"
    ;;
  bucket-copy)
    # A local side of an empty bucket is an empty directory: it must exist both ways.
    for side in "$2" "$3"; do
      case "$side" in /*) mkdir -p "$side" ;; esac
    done
    source=$2 target=$3
    shift 3
    # The appliance CA, when the in-cluster gateway serves TLS (PLATFORM_CA_FILE, set only for it).
    [ -z "${PLATFORM_CA_FILE:-}" ] || set -- --ca-cert "$PLATFORM_CA_FILE"
    rclone copy --checksum --s3-no-check-bucket "$@" "$source" "$target"
    exec rclone check --one-way "$@" "$source" "$target"
    ;;
  manifest)
    cd "$2"
    find . -type f ! -name 'MANIFEST.sha256*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum > MANIFEST.sha256.tmp
    mv MANIFEST.sha256.tmp MANIFEST.sha256
    ;;
  verify)
    cd "$2"
    [ -f MANIFEST.sha256 ] || { echo "$2 has no MANIFEST.sha256: not a complete backup" >&2; exit 1; }
    sha256sum --check --strict --quiet MANIFEST.sha256
    actual=$(mktemp) listed=$(mktemp)
    trap 'rm -f "$actual" "$listed"' EXIT
    find . -type f ! -name MANIFEST.sha256 | LC_ALL=C sort > "$actual"
    sed 's/^[0-9a-f]*  //' MANIFEST.sha256 | LC_ALL=C sort > "$listed"
    if ! cmp -s "$actual" "$listed"; then
      echo "$2 holds files its manifest does not list:" >&2
      comm -23 "$actual" "$listed" >&2
      exit 1
    fi
    echo "$2: every file matches MANIFEST.sha256"
    ;;
  *)
    echo "usage: $0 pg-dump|pg-restore DATABASE | bucket-copy SOURCE TARGET | manifest|verify DIR" >&2
    exit 2
    ;;
esac
