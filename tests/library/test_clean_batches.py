"""The cleaning step over the object store: cleans once, and again only when it must."""

import pandas as pd
import pytest

from data_api_emulator.generator import generate_batch
from house_prices import keys, pipeline
from house_prices.pipeline import clean_batches
from house_prices.settings import Settings
from house_prices.storage import open_store, read_json, read_parquet, write_json, write_parquet

RAW = keys.raw_key(5, "Tuesday", 1)
CLEAN = keys.clean_key(5, "Tuesday", 1)
REPORT = keys.clean_report_key(CLEAN)


def stored(tmp_path):
    settings = Settings(storage_root=tmp_path / "objects")
    store = open_store(settings)
    write_parquet(store, RAW, generate_batch(5, "Tuesday", 1, 500, seed=1).astype("string"))
    return settings, store


def test_a_cleaned_batch_is_not_cleaned_again(tmp_path):
    settings, store = stored(tmp_path)
    first = clean_batches(settings, [RAW])
    assert first["clean_keys"] == [CLEAN] and first["reports"][CLEAN]["rows_in"] == 500
    marker = read_parquet(store, CLEAN).head(3)
    write_parquet(store, CLEAN, marker)
    assert clean_batches(settings, [RAW])["reports"] == first["reports"]
    assert len(read_parquet(store, CLEAN)) == 3


def test_a_batch_without_its_report_is_cleaned_again(tmp_path):
    """The report is written last: a cleaned batch without one may be cut short."""
    settings, store = stored(tmp_path)
    clean_batches(settings, [RAW])
    write_parquet(store, CLEAN, pd.DataFrame({"price": [1.0]}))
    (tmp_path / "objects" / REPORT).unlink()
    clean_batches(settings, [RAW])
    assert "listing_id" in read_parquet(store, CLEAN) and store.exists(REPORT)


def test_a_batch_cleaned_before_listing_identities_is_cleaned_again(tmp_path):
    settings, store = stored(tmp_path)
    report = clean_batches(settings, [RAW])["reports"][CLEAN]
    write_parquet(store, CLEAN, read_parquet(store, CLEAN).drop(columns=["listing_id"]))
    write_json(store, REPORT, {k: v for k, v in report.items() if not k.startswith("identity")})
    clean_batches(settings, [RAW])
    assert "listing_id" in read_parquet(store, CLEAN)
    assert read_json(store, REPORT) == report


def test_a_cleaning_cut_short_is_done_again_on_the_next_run(tmp_path, monkeypatch):
    settings, store = stored(tmp_path)

    def disk_full(*_):
        raise OSError("No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "write_parquet", disk_full)
        with pytest.raises(OSError, match="No space"):
            clean_batches(settings, [RAW])
    assert not store.exists(REPORT)
    clean_batches(settings, [RAW])
    assert "listing_id" in read_parquet(store, CLEAN)
