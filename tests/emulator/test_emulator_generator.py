"""The listing generator: schema, determinism, dirt at its rates, price structure, drift."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from data_api_emulator.config import DirtConfig, DriftConfig
from data_api_emulator.generator import COLUMNS, STATUSES, day_index, generate_batch

N = 40_000
SEED = 1234
NO_DRIFT = DriftConfig(price_per_batch=0.0, price_per_day=0.0, size_per_batch=0.0)


@pytest.fixture(scope="module")
def dirty() -> pd.DataFrame:
    return generate_batch(3, "Wednesday", 2, N, SEED)


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return generate_batch(3, "Wednesday", 2, N, SEED, dirt=DirtConfig.clean(), drift=NO_DRIFT)


def assert_rate(count: float, total: int, rate: float) -> None:
    """Observed share within 5 binomial standard errors (plus a hair) of ``rate``."""
    tolerance = 5 * math.sqrt(rate * (1 - rate) / total) + 1e-4
    assert abs(count / total - rate) <= tolerance, (count / total, rate, tolerance)


def numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce")


def test_schema_and_value_formats(dirty: pd.DataFrame) -> None:
    assert tuple(dirty.columns) == COLUMNS
    assert len(dirty) == N
    assert set(dirty["status"]) <= set(STATUSES)
    assert set(dirty["status"]) == set(STATUSES)
    zips = dirty["zip_code"].dropna()
    as_text = zips[zips.map(lambda z: isinstance(z, str))]
    assert as_text.str.fullmatch(r"\d{5}").all()
    # Leading zeros matter: Puerto Rico zips start with 00, New England's with 0.
    assert as_text[dirty.loc[as_text.index, "state"] == "Puerto Rico"].str.startswith("00").all()
    assert as_text.str.startswith("0").any()
    brokers = dirty["brokered_by"].dropna()
    assert (brokers == brokers.round()).all() and brokers.dtype == float
    dates = dirty["prev_sold_date"].dropna()
    dates = dates[dates != ""]
    assert dates.map(lambda d: bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d))).all()
    pd.to_datetime(dates, format="%Y-%m-%d")  # real calendar dates
    states = set(dirty["state"].dropna())
    assert {"Puerto Rico", "New Jersey", "California", "District of Columbia"} <= states
    assert len(states) >= 50


def test_records_serialise_to_strict_json(dirty: pd.DataFrame) -> None:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-JSON token {token}")

    records = json.loads(dirty.head(5000).to_json(orient="records"), parse_constant=refuse)
    assert set(records[0]) == set(COLUMNS)
    assert any(r["bed"] is None for r in records)


def test_same_arguments_give_identical_batches() -> None:
    a = generate_batch(5, "Tuesday", 3, 2000, 7)
    b = generate_batch(5, "tuesday", 3, 2000, 7)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "changed",
    [
        {"group": 6},
        {"day": "Friday"},
        {"batch": 4},
        {"seed": 8},
    ],
)
def test_any_key_change_gives_other_data(changed: dict) -> None:
    args = {"group": 5, "day": "Tuesday", "batch": 3, "rows": 2000, "seed": 7}
    a = generate_batch(**args)
    b = generate_batch(**{**args, **changed})
    assert not a["price"].equals(b["price"])


def test_dirt_does_not_change_the_clean_values(dirty: pd.DataFrame, clean: pd.DataFrame) -> None:
    # Dirt has its own random stream: only duplicated rows differ in the untouched columns.
    clean_drifted = generate_batch(3, "Wednesday", 2, N, SEED, dirt=DirtConfig.clean())
    same = (dirty["state"] == clean_drifted["state"]).mean()
    assert same >= 0.98
    assert (dirty["status"] == clean["status"]).mean() >= 0.98


def test_clean_data_has_only_structural_gaps(clean: pd.DataFrame) -> None:
    homes = clean[clean["status"] != "ready_to_build"]
    land = clean[clean["status"] == "ready_to_build"]
    assert not homes.isna().any().any()
    assert land[["bed", "bath", "house_size"]].isna().all().all()
    assert land["acre_lot"].notna().all()
    assert clean.duplicated().sum() == 0
    for column in ("price", "bed", "bath", "acre_lot", "house_size"):
        assert clean[column].dtype == float
    assert (clean["price"] >= 1000).all()
    assert clean["zip_code"].map(lambda z: isinstance(z, str)).all()


@pytest.mark.parametrize(
    "column", ["bed", "bath", "acre_lot", "house_size", "brokered_by", "street", "price"]
)
def test_missing_values_at_configured_rates(dirty: pd.DataFrame, column: str) -> None:
    rate = getattr(DirtConfig(), f"missing_{column}")
    rows = (
        dirty
        if column in ("acre_lot", "brokered_by", "street", "price")
        else (dirty[dirty["status"] != "ready_to_build"])
    )
    assert_rate(rows[column].isna().sum(), len(rows), rate)


def test_missing_text_and_blank_dates(dirty: pd.DataFrame) -> None:
    d = DirtConfig()
    assert_rate(dirty["city"].isna().sum(), N, d.missing_city)
    assert_rate(dirty["zip_code"].isna().sum(), N, d.missing_zip_code)
    missing_dates = dirty["prev_sold_date"].isna() | (dirty["prev_sold_date"] == "")
    assert_rate(missing_dates.sum(), N, d.missing_prev_sold_date)
    assert_rate((dirty["prev_sold_date"] == "").sum(), int(missing_dates.sum()), d.blank_dates)


def test_numbers_as_strings_and_zip_as_number(dirty: pd.DataFrame) -> None:
    d = DirtConfig()
    price = dirty["price"]
    text_prices = price[price.map(lambda v: isinstance(v, str))]
    assert_rate(len(text_prices), int(price.notna().sum()), d.numbers_as_strings)
    assert pd.to_numeric(text_prices).notna().all()  # parseable, just the wrong type
    beds = dirty["bed"][dirty["bed"].map(lambda v: isinstance(v, str))]
    assert beds.str.fullmatch(r"\d+").all()
    zips = dirty["zip_code"].dropna()
    as_int = zips[zips.map(lambda z: isinstance(z, int))]
    assert_rate(len(as_int), len(zips), d.zip_as_number)
    assert (as_int < 10_000).any()  # a lost leading zero


def test_duplicates_at_configured_rate(dirty: pd.DataFrame) -> None:
    expected = round(DirtConfig().duplicate_rows * N)
    assert dirty.duplicated().sum() == expected


def test_zero_absurd_sizes_and_extreme_prices_at_configured_rates() -> None:
    rates = {"zero_sizes": 0.01, "absurd_sizes": 0.01, "extreme_prices": 0.01}
    dirt = dataclasses.replace(DirtConfig.clean(), **rates)
    frame = generate_batch(3, "Wednesday", 2, N, SEED, dirt=dirt)
    size, lot, price = (numeric(frame, c) for c in ("house_size", "acre_lot", "price"))
    zero = (size == 0) | (lot == 0)
    absurd = (size < 100) & (size > 0) | (size > 500_000) | (lot > 5_000)
    extreme = (price < 1_000) | (price > 5e7)
    assert_rate(zero.sum(), N, 0.01)
    assert_rate(absurd.sum(), N, 0.01)
    assert_rate(extreme.sum(), N, 0.01)
    assert (price < 1_000).sum() > 100 and (price > 5e7).sum() > 100


def _city_demeaned_fit(frame: pd.DataFrame) -> dict[str, float]:
    homes = frame[frame["status"] != "ready_to_build"].copy()
    homes["log_price"] = np.log(homes["price"])
    homes["log_size"] = np.log(homes["house_size"] / 1750)
    homes["log_lot"] = np.clip(np.log(homes["acre_lot"] / 0.25), -3, 4)
    homes["sold"] = (homes["status"] == "sold").astype(float)
    names = ["log_size", "bath", "bed", "log_lot", "sold"]
    cols = ["log_price", *names]
    key = homes["state"] + "/" + homes["city"]
    demeaned = homes[cols] - homes.groupby(key)[cols].transform("mean")
    coef, *_ = np.linalg.lstsq(demeaned[names].to_numpy(), demeaned["log_price"].to_numpy())
    return dict(zip(names, coef, strict=True))


def test_price_follows_size_rooms_lot_and_status(clean: pd.DataFrame) -> None:
    fit = _city_demeaned_fit(clean)
    assert fit["log_size"] == pytest.approx(0.8, abs=0.03)
    assert fit["bath"] == pytest.approx(0.05, abs=0.015)
    assert fit["bed"] == pytest.approx(0.015, abs=0.015)
    assert fit["log_lot"] == pytest.approx(0.06, abs=0.015)
    assert fit["sold"] == pytest.approx(-0.04, abs=0.015)


def test_price_levels_by_state_and_city(clean: pd.DataFrame) -> None:
    homes = clean[clean["status"] != "ready_to_build"]
    per_sqft = homes["price"] / homes["house_size"]
    by_state = per_sqft.groupby(homes["state"]).median()
    assert by_state["California"] > 2.5 * by_state["West Virginia"]
    assert by_state["Hawaii"] > by_state["Texas"] > by_state["Puerto Rico"]
    ny = homes["state"] == "New York"
    by_city = per_sqft[ny].groupby(homes.loc[ny, "city"]).median()
    assert by_city["New York"] > 3 * by_city["Buffalo"]


def test_prices_are_heavy_tailed(clean: pd.DataFrame) -> None:
    price = clean["price"]
    assert 150_000 < price.median() < 600_000
    assert price.quantile(0.99) > 5 * price.median()
    assert price.max() > 5_000_000
    assert price.min() < 50_000


def _median_ratio(column: str, later: dict, drift: DriftConfig) -> float:
    base = {"group": 2, "day": "Monday", "batch": 1, "rows": 30_000, "seed": SEED}
    first = generate_batch(**base, drift=drift, dirt=DirtConfig.clean())
    other = generate_batch(**{**base, **later}, drift=drift, dirt=DirtConfig.clean())
    return other[column].median() / first[column].median()


def test_price_drift_per_batch() -> None:
    drift = DriftConfig(price_per_batch=0.10, price_per_day=0.0, size_per_batch=0.0)
    assert _median_ratio("price", {"batch": 3}, drift) == pytest.approx(1.21, abs=0.04)
    assert _median_ratio("price", {"batch": 3}, NO_DRIFT) == pytest.approx(1.0, abs=0.03)


def test_price_drift_per_day() -> None:
    drift = DriftConfig(price_per_batch=0.0, price_per_day=0.05, size_per_batch=0.0)
    assert _median_ratio("price", {"day": "Thursday"}, drift) == pytest.approx(1.05**3, abs=0.04)


def test_size_drift_per_batch() -> None:
    drift = DriftConfig(price_per_batch=0.0, price_per_day=0.0, size_per_batch=0.05)
    assert _median_ratio("house_size", {"batch": 5}, drift) == pytest.approx(1.05**4, abs=0.04)


def test_default_drift_moves_prices_across_a_day() -> None:
    assert _median_ratio("price", {"batch": 10}, DriftConfig()) > 1.05


@pytest.mark.parametrize(("day", "index"), [("Monday", 0), ("sunday", 6), (" TUESDAY ", 1), (3, 3)])
def test_day_index_accepts_names_and_indexes(day: str | int, index: int) -> None:
    assert day_index(day) == index


@pytest.mark.parametrize("day", ["Funday", "", 7, -1, True, "Mon"])
def test_day_index_rejects_other_values(day: object) -> None:
    with pytest.raises(ValueError):
        day_index(day)  # type: ignore[arg-type]


def test_rejects_invalid_numbers() -> None:
    with pytest.raises(ValueError, match="batch >= 1"):
        generate_batch(1, "Monday", 0, 10, 1)
