"""Seeded, vectorised generator of realtor.com-style listing batches, dirt included.

A batch is a pure function of ``(seed, group, day, batch, rows)`` plus the drift and dirt
settings: the same arguments always give the same rows. Prices follow a log-linear model
(state and city levels, house size, beds, baths, lot size, status) with heavy-tailed
(Student-t) noise; the dirt (missing values, numbers as strings, zip codes as numbers,
duplicates, zero and absurd sizes, extreme prices) is drawn from a separate random stream,
so changing a dirt rate never changes the clean values underneath.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from data_api_emulator._geography import STATES
from data_api_emulator.config import DirtConfig, DriftConfig
from data_api_emulator.wire import COLUMNS, DAYS, STATUSES

__all__ = ["COLUMNS", "DAYS", "NUMERIC_COLUMNS", "STATUSES", "day_index", "generate_batch"]

# The record contract (columns, days, statuses) is the emulator's own: see wire.py.
NUMERIC_COLUMNS = ("price", "bed", "bath", "acre_lot", "house_size")
_STATUS_P = (0.6, 0.38, 0.02)

# Price model (log scale): a 1,750 sq ft home at national level costs about $325k.
_BASE_SIZE = 1750.0
_BASE_PRICE_PER_SQFT = 185.0
_SIZE_ELASTICITY = 0.8
_LAND_BASE_PRICE = 75_000.0
_NOISE_SCALE = 0.3
_BROKER_POOL = 20_000
_DATE_ORIGIN = np.datetime64("1990-01-01")
_DATE_SPAN_DAYS = 33 * 365
# Salts keep the streams of different purposes apart for the same seed.
_SALT_GROUP_MIX = 7_001
_SALT_BROKERS = 7_002


def day_index(day: int | str) -> int:
    """Return 0-6 for ``Monday``..``Sunday`` (any case) or an index; raise ``ValueError``."""
    if isinstance(day, bool):
        raise ValueError(f"invalid day {day!r}")
    if isinstance(day, int | np.integer):
        if 0 <= int(day) < len(DAYS):
            return int(day)
        raise ValueError(f"day index must be 0-6, got {day}")
    lowered = str(day).strip().lower()
    for i, name in enumerate(DAYS):
        if name.lower() == lowered:
            return i
    raise ValueError(f"invalid day {day!r}: use one of {', '.join(DAYS)}")


class _Tables:
    """Flat numpy views of the geography, built once."""

    def __init__(self) -> None:
        self.state_names = np.array([s[0] for s in STATES], dtype=object)
        weights = np.array([s[1] for s in STATES], dtype=float)
        self.state_weights = weights / weights.sum()
        self.state_level = np.array([s[2] for s in STATES], dtype=float)
        city_names, city_state, city_zip3, city_level, city_key = [], [], [], [], []
        for s_idx, (_, _, _, cities) in enumerate(STATES):
            # Bigger cities first: weights 1, 1/2^0.7, 1/3^0.7, ...
            w = np.array([1.0 / (rank + 1) ** 0.7 for rank in range(len(cities))])
            cum = np.cumsum(w / w.sum())
            cum[-1] = 1.0
            for (name, zip3, level), edge in zip(cities, cum, strict=True):
                city_names.append(name)
                city_state.append(s_idx)
                city_zip3.append(int(zip3))
                city_level.append(level)
                city_key.append(s_idx + edge)
        self.city_names = np.array(city_names, dtype=object)
        self.city_state = np.array(city_state)
        self.city_zip3 = np.array(city_zip3)
        self.city_level = np.array(city_level, dtype=float)
        # Right edges of each city's share inside [state_index, state_index + 1).
        self.city_key = np.array(city_key, dtype=float)
        self.zip_strings = np.array([f"{i:05d}" for i in range(100_000)], dtype=object)


@functools.cache
def _tables() -> _Tables:
    return _Tables()


@functools.lru_cache(maxsize=64)
def _group_state_weights(seed: int, group: int) -> np.ndarray:
    """Each group sees its own regional mix, as each group had its own slice originally."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, group, _SALT_GROUP_MIX]))
    base = _tables().state_weights
    w = base * np.exp(0.35 * rng.standard_normal(base.size))
    return w / w.sum()


@functools.lru_cache(maxsize=8)
def _broker_pool(seed: int) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SALT_BROKERS]))
    return rng.choice(np.arange(10_000, 130_000), size=_BROKER_POOL, replace=False).astype(float)


def generate_batch(
    group: int,
    day: int | str,
    batch: int,
    rows: int,
    seed: int,
    *,
    drift: DriftConfig | None = None,
    dirt: DirtConfig | None = None,
) -> pd.DataFrame:
    """Generate one batch of listings.

    Args:
        group: group number (>= 0).
        day: ``"Monday"``..``"Sunday"`` or 0-6.
        batch: batch number, 1-based (drift compounds from batch 1).
        rows: number of rows.
        seed: base seed (>= 0).
        drift: price and size drift; default ``DriftConfig()``.
        dirt: dirt rates; default ``DirtConfig()``, ``DirtConfig.clean()`` for none.

    Returns:
        A DataFrame with the columns of ``COLUMNS``. Columns that can carry mixed types
        (numbers sent as strings, zip codes sent as numbers) have ``object`` dtype; missing
        values are ``NaN`` or ``None`` and serialise to JSON ``null``.
    """
    drift = DriftConfig() if drift is None else drift
    dirt = DirtConfig() if dirt is None else dirt
    d_idx = day_index(day)
    if group < 0 or seed < 0 or batch < 1 or rows < 0:
        raise ValueError("group and seed must be >= 0, batch >= 1 and rows >= 0")
    data_seq, dirt_seq = np.random.SeedSequence([seed, group, d_idx, batch]).spawn(2)
    rng = np.random.default_rng(data_seq)
    t = _tables()
    n = rows

    state = rng.choice(t.state_names.size, size=n, p=_group_state_weights(seed, group))
    city = np.searchsorted(t.city_key, state + rng.random(n), side="right")
    city = np.minimum(city, t.city_key.size - 1)
    status = rng.choice(len(STATUSES), size=n, p=_STATUS_P)
    land = status == 2
    state_level = t.state_level[state]
    city_level = t.city_level[city]

    size_factor = (1.0 + drift.size_per_batch) ** (batch - 1)
    house_size = np.rint(
        np.clip(rng.lognormal(np.log(_BASE_SIZE), 0.42, n) * size_factor, 400, 12_000)
    )
    bed = np.clip(np.rint(house_size / 600 + rng.normal(0.0, 0.75, n)), 1, 9)
    bath = np.clip(np.rint(0.5 * bed + house_size / 2000 + rng.normal(0.0, 0.55, n)), 1, 9)
    # Expensive places have smaller lots; land for sale comes in bigger parcels.
    lot_median = 0.23 * state_level**-0.7 * city_level**-0.6
    lot_median = np.where(land, 0.8, lot_median)
    acre_lot = np.round(np.clip(rng.lognormal(np.log(lot_median), 1.0), 0.01, 2_000), 2)

    noise = _NOISE_SCALE * np.clip(rng.standard_t(4, n), -8, 8)
    location = np.log(state_level) + np.log(city_level)
    log_home = (
        np.log(_BASE_PRICE_PER_SQFT * _BASE_SIZE)
        + _SIZE_ELASTICITY * np.log(house_size / _BASE_SIZE)
        + 0.05 * (bath - 2)
        + 0.015 * (bed - 3)
        + 0.06 * np.clip(np.log(acre_lot / 0.25), -3, 4)
        - 0.04 * (status == 1)
    )
    log_land = np.log(_LAND_BASE_PRICE) + 0.55 * np.log(acre_lot / 0.5)
    log_price = location + np.where(land, log_land, log_home) + np.where(land, 0.45, 1.0) * noise
    price_factor = (1.0 + drift.price_per_batch) ** (batch - 1) * (
        1.0 + drift.price_per_day
    ) ** d_idx
    price = np.maximum(np.round(np.exp(log_price) * price_factor, -2), 1_000.0)
    house_size[land] = np.nan
    bed[land] = np.nan
    bath[land] = np.nan

    broker_rank = np.minimum((rng.pareto(1.0, n) * 20).astype(np.int64), 2_000)
    brokered_by = _broker_pool(seed)[(state * 350 + broker_rank) % _BROKER_POOL]
    street = rng.integers(1, 2_100_000, n).astype(float)
    zip_int = t.city_zip3[city] * 100 + rng.integers(0, 100, n)
    zip_code = t.zip_strings[zip_int]
    sold_days = rng.integers(0, _DATE_SPAN_DAYS, n)
    prev_sold_date = (_DATE_ORIGIN + sold_days).astype("datetime64[D]").astype(str).astype(object)

    columns: dict[str, np.ndarray] = {
        "brokered_by": brokered_by,
        "status": np.array(STATUSES, dtype=object)[status],
        "price": price,
        "bed": bed,
        "bath": bath,
        "acre_lot": acre_lot,
        "street": street,
        "city": t.city_names[city],
        "state": t.state_names[state],
        "zip_code": zip_code,
        "house_size": house_size,
        "prev_sold_date": prev_sold_date,
    }
    _add_dirt(columns, dirt, np.random.default_rng(dirt_seq), n)
    return pd.DataFrame({name: columns[name] for name in COLUMNS})


def _add_dirt(cols: dict[str, np.ndarray], dirt: DirtConfig, rng: np.random.Generator, n: int):
    """Apply the dirt in place. Every draw has size ``n`` whatever the rate (stable streams)."""
    pick = rng.random(n) < dirt.zero_sizes
    which = rng.random(n) < 0.5
    cols["house_size"][pick & which] = 0.0
    cols["acre_lot"][pick & ~which] = 0.0

    pick = rng.random(n) < dirt.absurd_sizes
    kind = rng.integers(0, 3, n)
    tiny_home = np.rint(rng.uniform(1, 60, n))
    huge_home = np.rint(rng.uniform(1e6, 5e7, n))
    huge_lot = np.round(rng.uniform(1e4, 1e5, n), 2)
    cols["house_size"] = np.where(pick & (kind == 0), tiny_home, cols["house_size"])
    cols["house_size"] = np.where(pick & (kind == 1), huge_home, cols["house_size"])
    cols["acre_lot"] = np.where(pick & (kind == 2), huge_lot, cols["acre_lot"])

    pick = rng.random(n) < dirt.extreme_prices
    low = rng.random(n) < 0.5
    cheap = np.rint(rng.uniform(1, 999, n))
    dear = np.round(rng.uniform(5e7, 9e8, n), -3)
    cols["price"] = np.where(pick, np.where(low, cheap, dear), cols["price"])

    for name in ("bed", "bath", "acre_lot", "house_size", "brokered_by", "street", "price"):
        cols[name] = np.where(rng.random(n) < getattr(dirt, f"missing_{name}"), np.nan, cols[name])
    for name in ("city", "zip_code"):
        cols[name][rng.random(n) < getattr(dirt, f"missing_{name}")] = None
    missing_date = rng.random(n) < dirt.missing_prev_sold_date
    blank = rng.random(n) < dirt.blank_dates
    cols["prev_sold_date"][missing_date & blank] = ""
    cols["prev_sold_date"][missing_date & ~blank] = None

    as_text = np.flatnonzero(rng.random(n) < dirt.numbers_as_strings)
    for name in NUMERIC_COLUMNS if as_text.size else ():
        values = cols[name]
        obj = values.astype(object)
        for i in as_text:
            v = values[i]
            if not np.isnan(v):
                obj[i] = str(int(v)) if name in ("bed", "bath") else repr(float(v))
        cols[name] = obj
    as_number = np.flatnonzero(rng.random(n) < dirt.zip_as_number)
    zips = cols["zip_code"]
    for i in as_number:
        if zips[i] is not None:
            zips[i] = int(zips[i])

    n_dup = round(dirt.duplicate_rows * n)
    if n_dup and n > 1:
        n_dup = min(n_dup, n // 2)
        order = rng.permutation(n)
        targets, pool = order[:n_dup], order[n_dup:]
        sources = pool[rng.integers(0, pool.size, n_dup)]
        for name, values in cols.items():
            values[targets] = values[sources]
            cols[name] = values
