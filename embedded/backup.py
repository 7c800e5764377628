"""Back up and restore the embedded state directory as one verified archive.

``backup`` streams one ``tar.gz`` of everything in the state directory that matters: every
SQLite database (MLflow, Airflow, the prediction log) copied with SQLite's online backup API, so
a consistent copy is taken while the services write; the object store, MLflow artifacts,
Airflow task logs and the generated secrets as files. A manifest (path, size, sha256, mode of
every member) is the archive's last member. The archive is written under a temporary name and
renamed when complete, with mode 0600: it holds the secrets.

``restore`` reads the whole archive into a directory next to the state directory, checking
every member against the manifest; only an archive that verifies completely is renamed into
place. A truncated or corrupt archive is refused and the state directory is not touched.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MANIFEST = "MANIFEST.json"
FORMAT = 1
SQLITE_HEADER = b"SQLite format 3\x00"
_CHUNK = 1 << 20

#: Runtime files that are recreated by ``up`` or captured through the database they belong to.
_SKIPPED_NAMES = {"supervisor.sock", "supervisord.pid", "supervisord.conf"}
_SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".tmp")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Member:
    path: str
    size: int
    sha256: str
    mode: int

    def as_json(self) -> dict:
        return {"path": self.path, "size": self.size, "sha256": self.sha256, "mode": self.mode}


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _wanted(relative: PurePosixPath) -> bool:
    if relative.name in _SKIPPED_NAMES or relative.name.endswith(_SKIPPED_SUFFIXES):
        return False
    # Service logs (logs/*.log) are noise; Airflow's task logs (logs/airflow/...) are history.
    return not (len(relative.parts) == 2 and relative.parts[0] == "logs")


def state_files(state: Path, exclude: Path) -> Iterator[tuple[PurePosixPath, Path]]:
    """(path in the archive, file on disk) for every regular file worth keeping, sorted;
    nothing under ``exclude`` (the backup directory, should it be inside the state)."""
    for path in sorted(state.rglob("*")):
        relative = PurePosixPath(path.relative_to(state).as_posix())
        if path.is_relative_to(exclude):
            continue
        if path.is_file() and not path.is_symlink() and _wanted(relative):
            yield relative, path


def sqlite_snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included) through the backup API."""
    with (
        contextlib.closing(sqlite3.connect(source, timeout=60)) as live,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)


class _HashingReader(io.RawIOBase):
    """Reads a file for tarfile while computing its sha256, so each file is read once."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _add_file(tar: tarfile.TarFile, name: str, path: Path, mode: int) -> Member:
    info = tar.gettarinfo(str(path), arcname=name)
    info.mode = mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with path.open("rb") as handle:
        reader = _HashingReader(handle)
        tar.addfile(info, reader)
    return Member(name, info.size, reader.digest.hexdigest(), mode)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(data))


def backup(state: Path, target_dir: Path) -> Path:
    """Write one archive of ``state`` into ``target_dir``; return its path."""
    if not (state / "secrets.env").is_file():
        raise BackupError(f"{state} holds no appliance state (no secrets.env); nothing to back up")
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    final = target_dir / f"appliance-backup-{stamp}.tar.gz"
    partial = target_dir / f".{final.name}.partial"
    members: list[Member] = []
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            with (
                tempfile.TemporaryDirectory(dir=target_dir, prefix=".snapshots-") as snapshots,
                gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6) as compressed,
                tarfile.open(fileobj=compressed, mode="w|") as tar,
            ):
                for relative, path in state_files(state, exclude=target_dir):
                    mode = path.stat().st_mode & 0o777
                    source = path
                    if _is_sqlite(path):
                        source = Path(snapshots) / "db"
                        sqlite_snapshot(path, source)
                    members.append(_add_file(tar, relative.as_posix(), source, mode))
                    if source != path:
                        source.unlink()
                manifest = {
                    "format": FORMAT,
                    "created": stamp,
                    "members": [m.as_json() for m in members],
                }
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return final


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(f"archive member {name!r} points outside the state directory")
    return path


def _extract_verified(archive: Path, into: Path) -> dict:
    """Write every member under ``into`` and check it against the manifest; return it."""
    written: dict[str, Member] = {}
    manifest = None
    try:
        with (
            gzip.open(archive, "rb") as compressed,
            tarfile.open(fileobj=compressed, mode="r|") as tar,
        ):
            for info in tar:
                if info.name == MANIFEST:
                    manifest = json.load(tar.extractfile(info))
                    continue
                if not info.isfile():
                    raise BackupError(f"archive member {info.name!r} is not a regular file")
                relative = _safe_name(info.name)
                target = into / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                source = tar.extractfile(info)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, info.mode & 0o777)
                with os.fdopen(fd, "wb") as handle:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        handle.write(chunk)
                written[info.name] = Member(
                    info.name, info.size, digest.hexdigest(), info.mode & 0o777
                )
    except (tarfile.TarError, EOFError, OSError, zlib.error, json.JSONDecodeError) as exc:
        raise BackupError(
            f"{archive} is truncated or corrupt ({exc}); nothing was restored"
        ) from exc
    if manifest is None:
        raise BackupError(f"{archive} has no {MANIFEST} (truncated?); nothing was restored")
    expected = {m["path"]: Member(**m) for m in manifest.get("members", [])}
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} has manifest format {manifest.get('format')}, not {FORMAT}")
    bad = sorted(
        name for name in expected.keys() | written.keys() if expected.get(name) != written.get(name)
    )
    if bad:
        raise BackupError(
            f"{archive} does not match its manifest ({len(bad)} member(s), e.g. {bad[0]}); "
            "nothing was restored"
        )
    return manifest


def restore(archive: Path, state: Path, force: bool = False) -> Path | None:
    """Restore ``archive`` as ``state``; return where a replaced state directory was moved."""
    if not archive.is_file():
        raise BackupError(f"{archive} is not a file")
    occupied = state.exists() and any(state.iterdir())
    if occupied and not force:
        raise BackupError(
            f"{state} is not empty: restore into an empty state directory, or pass --force to "
            "replace it (the current state is moved aside, not deleted)"
        )
    state.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=state.parent, prefix=f".{state.name}.restore-"))
    try:
        _extract_verified(archive, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.chmod(0o700)
    moved_aside = None
    if occupied:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        moved_aside = state.with_name(f"{state.name}.before-restore-{stamp}")
        os.replace(state, moved_aside)
    elif state.exists():
        state.rmdir()
    os.replace(staging, state)
    return moved_aside


def main_backup(state: Path, target_dir: Path) -> None:
    try:
        archive = backup(state, target_dir)
    except BackupError as exc:
        sys.exit(str(exc))
    size = archive.stat().st_size
    print(f"backup written: {archive} ({size / 1e6:.1f} MB, mode 0600)")
    print("It holds the generated secrets: store it like them.")


def main_restore(archive: Path, state: Path, force: bool) -> None:
    try:
        moved_aside = restore(archive, state, force)
    except BackupError as exc:
        sys.exit(str(exc))
    print(f"restored {archive} into {state}; start it with ./appliance up")
    if moved_aside:
        print(f"the previous state was moved to {moved_aside}; delete it when satisfied")
