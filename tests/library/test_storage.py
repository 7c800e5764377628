import os

import pandas as pd
import pytest

from house_prices.settings import Settings
from house_prices.storage import (
    LocalStore,
    S3Store,
    StorageError,
    open_store,
    read_parquet,
    write_parquet,
)


# The S3 variant talks to the session's moto server.
@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    url = request.getfixturevalue("s3_url")
    bucket = f"test-{os.urandom(4).hex()}"
    return open_store(
        Settings(
            storage_backend="s3",
            s3_endpoint=url,
            s3_bucket=bucket,
            s3_access_key="testing",
            s3_secret_key="testing",
        )
    )


def test_round_trip_list_and_exists(store):
    store.put("raw/group=1/day=Monday/batch=0001.parquet", b"one")
    store.put("raw/group=1/day=Monday/batch=0002.parquet", b"two")
    store.put("clean/x.parquet", b"three")
    assert store.get("raw/group=1/day=Monday/batch=0002.parquet") == b"two"
    assert store.exists("clean/x.parquet")
    assert not store.exists("clean/y.parquet")
    assert store.list("raw/") == [
        "raw/group=1/day=Monday/batch=0001.parquet",
        "raw/group=1/day=Monday/batch=0002.parquet",
    ]
    with pytest.raises(KeyError):
        store.get("clean/y.parquet")


def test_parquet_round_trip_keeps_text(store):
    frame = pd.DataFrame({"zip_code": ["00601", None], "price": [1.0, 2.0]})
    frame["zip_code"] = frame["zip_code"].astype("string")
    write_parquet(store, "a/b.parquet", frame)
    back = read_parquet(store, "a/b.parquet")
    assert back["zip_code"].tolist()[0] == "00601"
    assert back["price"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("key", ["", "/abs", "a/../b"])
def test_invalid_keys_are_refused(store, key):
    with pytest.raises(StorageError, match="invalid object key"):
        store.put(key, b"x")


def test_local_write_is_atomic_when_interrupted(tmp_path, monkeypatch):
    store = LocalStore(tmp_path)
    store.put("k.bin", b"old")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.put("k.bin", b"new content")
    assert store.get("k.bin") == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["k.bin"]


def test_unreachable_s3_names_the_endpoint():
    store = S3Store("http://127.0.0.1:9", "bucket", "a", "b")
    store._client._http.connection_pool_kw["retries"] = 0
    with pytest.raises(StorageError, match=r"127.0.0.1:9 unreachable"):
        store.put("k", b"x")


def test_bad_endpoint_is_refused():
    with pytest.raises(StorageError, match="must look like http://host:port"):
        S3Store("seaweedfs:8333", "bucket", "a", "b")


def test_list_modified_and_delete(store):
    store.put("reports/a/one.json", b"1")
    store.put("reports/b/two.json", b"2")
    modified = store.list_modified("reports/")
    assert set(modified) == {"reports/a/one.json", "reports/b/two.json"}
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    assert all(abs((now - t).total_seconds()) < 300 for t in modified.values())
    store.delete("reports/a/one.json")
    store.delete("reports/a/one.json")  # already gone: no error
    assert store.list("reports/") == ["reports/b/two.json"]
    if isinstance(store, LocalStore):  # no empty directory left behind
        assert not (store.root / "reports" / "a").exists()
