"""CSV mode: a user file in the realtor.com layout, cut into deterministic batches."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from data_api_emulator.app import create_app
from data_api_emulator.config import ConfigError, DirtConfig, EmulatorConfig
from data_api_emulator.csv_source import (
    OPTIONAL_COLUMNS,
    CsvLayoutError,
    CsvSource,
    load_listing_csv,
)
from data_api_emulator.generator import COLUMNS, generate_batch

ROWS = 1_003


@pytest.fixture
def listing_csv(tmp_path: Path) -> Path:
    frame = generate_batch(1, "Monday", 1, ROWS, 5, dirt=DirtConfig.clean())
    frame["extra_column"] = "ignored"
    frame["street"] = [f"{i} Main St" for i in range(ROWS)]  # text streets are allowed
    frame.loc[0, ["state", "city", "zip_code"]] = ["Puerto Rico", "Adjuntas", "00601"]
    frame.loc[1, "bed"] = None
    path = tmp_path / "realtor-data.csv"
    frame.to_csv(path, index=False)
    return path


def source(path: Path, **kwargs) -> CsvSource:
    return CsvSource(path, **{"seed": 3, "batches_per_day": 4, "rows_per_batch": 10_000, **kwargs})


def test_batches_partition_the_file_per_group_and_day(listing_csv: Path) -> None:
    src = source(listing_csv)
    assert src.rows_per_batch == ROWS // 4
    batches = [src.batch(2, 1, b) for b in range(1, 5)]
    streets = [set(b["street"]) for b in batches]
    assert all(len(s) == ROWS // 4 for s in streets)
    assert len(set().union(*streets)) == 4 * (ROWS // 4)  # disjoint
    assert list(batches[0].columns) == list(COLUMNS)  # extra column dropped, order fixed
    other_day = src.batch(2, 2, 1)
    assert set(other_day["street"]) != streets[0]


def test_batches_are_deterministic(listing_csv: Path) -> None:
    a = source(listing_csv).batch(4, 3, 2)
    b = source(listing_csv).batch(4, 3, 2)
    pd.testing.assert_frame_equal(a, b)


def test_values_are_served_as_in_the_file(listing_csv: Path) -> None:
    frame = load_listing_csv(listing_csv)
    assert frame.loc[0, "zip_code"] == "00601"
    assert pd.isna(frame.loc[1, "bed"])
    assert frame.loc[5, "street"] == "5 Main St"


def test_rows_per_batch_caps_the_batch(listing_csv: Path) -> None:
    assert len(source(listing_csv, rows_per_batch=7).batch(1, 0, 4)) == 7


def test_batch_out_of_range_is_refused(listing_csv: Path) -> None:
    with pytest.raises(ValueError, match="between 1 and 4"):
        source(listing_csv).batch(1, 0, 5)


def test_app_serves_the_csv(listing_csv: Path) -> None:
    config = EmulatorConfig(
        csv_path=listing_csv, batches_per_day=2, rows_per_batch=100_000, min_interval_seconds=0
    )
    client = create_app(config).test_client()
    assert client.get("/health").get_json()["mode"] == "csv"
    records = []
    for expected in (1, 2):
        body = json.loads(client.get("/data?group_number=3&day=Friday").get_data(as_text=True))
        assert body["batch_number"] == expected
        records += body["data"]
    assert len(records) == 2 * (ROWS // 2)
    adjuntas = [r for r in records if r["city"] == "Adjuntas" and r["street"] == "0 Main St"]
    assert adjuntas and adjuntas[0]["zip_code"] == "00601"
    assert client.get("/data?group_number=3&day=Friday").status_code == 400


@pytest.mark.parametrize("share", [0.0, 0.25])
def test_later_csv_batches_re_serve_rows_of_earlier_ones(listing_csv: Path, share: float) -> None:
    config = EmulatorConfig(
        csv_path=listing_csv,
        batches_per_day=3,
        rows_per_batch=100_000,
        min_interval_seconds=0,
        repeat_share=share,
    )
    client = create_app(config).test_client()
    part = ROWS // 3
    seen: set[str] = set()
    for _ in range(3):
        records = client.get("/data?group_number=2&day=Monday").get_json()["data"]
        streets = [r["street"] for r in records]  # unique in the file
        assert len(streets) == part
        assert sum(s in seen for s in streets) == (0 if not seen else round(share * part))
        seen.update(streets)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        (",".join(COLUMNS) + "\n", "has a header but no rows"),
        (
            "brokered_by,status,price\n1,sold,3\n",
            r"missing column\(s\) bed, bath, acre_lot, city, state, zip_code, house_size, "
            r"prev_sold_date. Expected a header with: brokered_by, status, .* \(brokered_by "
            r"and street may be left out\)",
        ),
        (
            "group_number,day,batch_number,data\n5,Tuesday,1,[]\n",
            "not in the realtor.com listing layout",
        ),
    ],
)
def test_bad_files_are_explained(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(CsvLayoutError, match=message):
        source(path)


def test_too_few_rows_for_the_batches(listing_csv: Path) -> None:
    with pytest.raises(CsvLayoutError, match=r"has 1003 row\(s\), fewer than batches_per_day"):
        source(listing_csv, batches_per_day=2000)


def test_layout_errors_are_config_errors_raised_by_create_app(tmp_path: Path) -> None:
    path = tmp_path / "nested.csv"
    path.write_text("group_number,day,batch_number,data\n")
    with pytest.raises(ConfigError, match="missing column"):
        create_app(EmulatorConfig(csv_path=path))


def write_without(tmp_path: Path, frame: pd.DataFrame, *dropped: str) -> Path:
    path = tmp_path / "older-export.csv"
    frame.drop(columns=list(dropped)).to_csv(path, index=False)
    return path


def test_the_older_ten_column_export_is_served_with_null_broker_and_street(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = generate_batch(1, "Monday", 1, 200, 5, dirt=DirtConfig.clean())
    path = write_without(tmp_path, frame, *OPTIONAL_COLUMNS)
    config = EmulatorConfig(
        csv_path=path, batches_per_day=2, rows_per_batch=100, min_interval_seconds=0
    )
    with caplog.at_level(logging.WARNING, logger="data_api_emulator.csv_source"):
        client = create_app(config).test_client()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "brokered_by, street" in warnings[0] and "falls back" in warnings[0]
    records = []
    for _ in range(2):
        body = json.loads(client.get("/data?group_number=1&day=Monday").get_data(as_text=True))
        records += body["data"]
    assert len(records) == 200
    assert all(list(r) == list(COLUMNS) for r in records)
    assert all(r["brokered_by"] is None and r["street"] is None for r in records)
    # The other columns are the file's values.
    served = {(r["price"], r["house_size"], r["zip_code"]) for r in records}
    in_file = set(zip(frame["price"], frame["house_size"], frame["zip_code"], strict=True))
    assert len(served & in_file) > 150


def test_a_file_without_street_only_keeps_its_brokers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frame = generate_batch(1, "Monday", 1, 50, 5, dirt=DirtConfig.clean())
    with caplog.at_level(logging.WARNING, logger="data_api_emulator.csv_source"):
        loaded = load_listing_csv(write_without(tmp_path, frame, "street"))
    assert "no column(s) street " in caplog.text
    assert loaded["street"].isna().all()
    assert loaded["brokered_by"].tolist() == frame["brokered_by"].tolist()


@pytest.mark.parametrize("dropped", ["price", "zip_code", "status"])
def test_other_columns_stay_required(tmp_path: Path, dropped: str) -> None:
    frame = generate_batch(1, "Monday", 1, 50, 5, dirt=DirtConfig.clean())
    path = write_without(tmp_path, frame, *OPTIONAL_COLUMNS, dropped)
    with pytest.raises(CsvLayoutError, match=rf"missing column\(s\) {dropped}\. Expected"):
        load_listing_csv(path)
