"""Object storage with one interface and two backends: a local directory and S3.

Keys are slash-separated strings (``raw/group=5/day=Tuesday/batch=0003.parquet``). Writes are
atomic in both backends: the local store writes a temporary file and renames it into place;
S3 makes an object visible only once its upload completed. A reader never sees half an object.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from house_prices.settings import Settings

__all__ = [
    "LocalStore",
    "ObjectStore",
    "S3Store",
    "StorageError",
    "open_store",
    "read_json",
    "read_parquet",
    "write_json",
    "write_parquet",
]


class StorageError(RuntimeError):
    """The object store could not be reached or refused an operation."""


class ObjectStore(Protocol):
    """What the pipeline needs from a store."""

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...
    def list_modified(self, prefix: str) -> dict[str, datetime]: ...
    def delete(self, key: str) -> None: ...
    def describe(self) -> str: ...


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or ".." in key.split("/"):
        raise StorageError(f"invalid object key {key!r}")
    return key


class LocalStore:
    """A directory as an object store (the embedded default)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        if not self.root.exists():
            return []
        keys = (
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )
        return sorted(key for key in keys if key.startswith(prefix))

    def list_modified(self, prefix: str) -> dict[str, datetime]:
        """Every key under ``prefix`` with the time it was last written (UTC)."""
        return {
            key: datetime.fromtimestamp(self._path(key).stat().st_mtime, UTC)
            for key in self.list(prefix)
        }

    def delete(self, key: str) -> None:
        """Remove ``key`` (no error when it is already gone) and directories left empty."""
        path = self._path(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:  # not empty
                break

    def describe(self) -> str:
        return f"local directory {self.root}"


class S3Store:
    """An S3 bucket (SeaweedFS in the cluster) through the ``minio`` client.

    An https endpoint is verified against ``ca_file``, by default the CA bundle boto3 reads
    (``AWS_CA_BUNDLE``: the appliance CA in the cluster), else minio's default trust store."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        ca_file: str | None = None,
    ) -> None:
        from urllib.parse import urlsplit

        import urllib3
        from minio import Minio

        url = urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise StorageError(f"S3 endpoint {endpoint!r} must look like http://host:port")
        self.endpoint = endpoint
        self.bucket = bucket
        ca_file = ca_file or os.environ.get("AWS_CA_BUNDLE") or None
        http_client = None
        if url.scheme == "https" and ca_file:
            # minio's own pool (same timeouts and retries), trusting ca_file alone.
            http_client = urllib3.PoolManager(
                timeout=urllib3.Timeout(connect=300, read=300),
                maxsize=10,
                cert_reqs="CERT_REQUIRED",
                ca_certs=ca_file,
                retries=urllib3.Retry(
                    total=5, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
                ),
            )
        self._client = Minio(
            url.netloc,
            access_key=access_key or None,
            secret_key=secret_key or None,
            secure=url.scheme == "https",
            http_client=http_client,
        )

    def _call(self, what: str, func, *args, **kwargs):
        from minio.error import S3Error
        from urllib3.exceptions import HTTPError

        try:
            return func(*args, **kwargs)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise KeyError(args[1] if len(args) > 1 else what) from None
            raise StorageError(f"S3 {what} failed at {self.describe()}: {exc.code}: {exc}") from exc
        except (HTTPError, OSError) as exc:
            raise StorageError(
                f"S3 endpoint {self.endpoint} unreachable during {what}: {exc}. "
                "Check HOUSE_PRICES_S3_ENDPOINT and that the S3 server runs."
            ) from exc

    def ensure_bucket(self) -> None:
        if not self._call("bucket check", self._client.bucket_exists, self.bucket):
            self._call("bucket creation", self._client.make_bucket, self.bucket)

    def put(self, key: str, data: bytes) -> None:
        self._call(
            "put",
            self._client.put_object,
            self.bucket,
            _check_key(key),
            io.BytesIO(data),
            len(data),
        )

    def get(self, key: str) -> bytes:
        response = self._call("get", self._client.get_object, self.bucket, _check_key(key))
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self._call("stat", self._client.stat_object, self.bucket, _check_key(key))
        except KeyError:
            return False
        return True

    def list(self, prefix: str) -> list[str]:
        objects = self._call(
            "list", lambda: list(self._client.list_objects(self.bucket, prefix, recursive=True))
        )
        return sorted(obj.object_name for obj in objects)

    def list_modified(self, prefix: str) -> dict[str, datetime]:
        """Every key under ``prefix`` with the time it was last written (UTC)."""
        objects = self._call(
            "list", lambda: list(self._client.list_objects(self.bucket, prefix, recursive=True))
        )
        return {obj.object_name: obj.last_modified.astimezone(UTC) for obj in objects}

    def delete(self, key: str) -> None:
        """Remove ``key`` (S3 deletes are idempotent)."""
        self._call("delete", self._client.remove_object, self.bucket, _check_key(key))

    def describe(self) -> str:
        return f"s3 bucket {self.bucket} at {self.endpoint}"


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings name; an S3 bucket is created if it does not exist."""
    if settings.storage_backend == "s3":
        store = S3Store(
            settings.s3_endpoint, settings.s3_bucket, settings.s3_access_key, settings.s3_secret_key
        )
        store.ensure_bucket()
        return store
    return LocalStore(settings.storage_root)


def write_parquet(store: ObjectStore, key: str, frame: pd.DataFrame) -> None:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    store.put(key, buffer.getvalue())


def read_parquet(store: ObjectStore, key: str) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(store.get(key)))


def write_json(store: ObjectStore, key: str, document: Any) -> None:
    store.put(key, json.dumps(document, indent=2, sort_keys=True, default=str).encode())


def read_json(store: ObjectStore, key: str) -> Any:
    return json.loads(store.get(key))
