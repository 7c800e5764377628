"""Overlapping batches: later batches of a day re-serve listings of earlier ones."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from data_api_emulator.generator import generate_batch
from data_api_emulator.repeats import _KEPT_DAYS, NEAR_DUPLICATE_SHARE, OverlappingBatches

N = 4_000
BATCHES = 5
SEED = 21
GROUP, DAY = 3, 2
SHARE = 0.2
ADDRESS = ["street", "city", "state", "zip_code"]
# What a near duplicate may change; everything else is the listing and stays.
CHANGEABLE = ["price", "status"]


def fresh(group: int, day: int, batch: int) -> pd.DataFrame:
    return generate_batch(group, day, batch, N, SEED)


def overlapping(share: float = SHARE) -> OverlappingBatches:
    return OverlappingBatches(fresh, seed=SEED, share=share, batches_per_day=BATCHES, rows=N)


@pytest.fixture(scope="module")
def served() -> list[pd.DataFrame]:
    batches = overlapping()
    return [batches(GROUP, DAY, b) for b in range(1, BATCHES + 1)]


def address_keys(frame: pd.DataFrame) -> pd.Series:
    """One text key per row (street+city+state+zip), NaN where the street is missing."""
    parts = [frame[c].map(repr).astype(object) for c in ADDRESS]
    keys = parts[0].str.cat(parts[1:], sep="|")
    return keys.where(frame["street"].notna())


def first_seen(batches: list[pd.DataFrame]) -> dict[str, tuple[int, dict]]:
    """Address -> (batch number, record) of its first appearance."""
    seen: dict[str, tuple[int, dict]] = {}
    for number, frame in enumerate(batches, start=1):
        for key, row in zip(address_keys(frame), frame.to_dict("records"), strict=True):
            if isinstance(key, str) and key not in seen:
                seen[key] = (number, row)
    return seen


def repeats_of(batches: list[pd.DataFrame], b: int) -> pd.Series:
    """Rows of batch ``b`` (1-based) whose address occurs in batches before it."""
    earlier = {k for f in batches[: b - 1] for k in address_keys(f).dropna()}
    return address_keys(batches[b - 1]).isin(earlier)


def as_number(value: object) -> float:
    return float(pd.to_numeric(pd.Series([value], dtype=object), errors="coerce").iloc[0])


def same(a: object, b: object) -> bool:
    missing_a = a is None or (isinstance(a, float) and math.isnan(a))
    missing_b = b is None or (isinstance(b, float) and math.isnan(b))
    return (missing_a and missing_b) or (not missing_a and not missing_b and a == b)


def rows_equal(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    return np.array(
        [all(same(x, y) for x, y in zip(ra, rb, strict=True)) for ra, rb in zip(
            a.itertuples(index=False), b.itertuples(index=False), strict=True
        )]
    )  # fmt: skip


def test_later_batches_repeat_earlier_addresses_at_the_configured_share(
    served: list[pd.DataFrame],
) -> None:
    assert not repeats_of(served, 1).any()
    for b in range(2, BATCHES + 1):
        share = repeats_of(served, b).mean()
        # Exactly round(SHARE * N) rows are repeats; a repeat of a listing served without a
        # street (0.5 % of rows) has no address key, hence the small tolerance below.
        assert SHARE - 0.01 <= share <= SHARE, (b, share)


def test_repeats_come_from_every_earlier_batch(served: list[pd.DataFrame]) -> None:
    seen = first_seen(served[:-1])
    last = served[-1]
    origins = pd.Series(
        [seen[k][0] for k in address_keys(last)[repeats_of(served, BATCHES)]]
    ).value_counts()
    # Uniform over the rows earlier batches served fresh: batch 1 all N, the others 0.8 N.
    weights = np.array([1.0] + [1 - SHARE] * (BATCHES - 2))
    expected = weights / weights.sum()
    observed = origins.reindex(range(1, BATCHES), fill_value=0) / origins.sum()
    assert np.allclose(observed.to_numpy(), expected, atol=0.05), observed


def test_repeats_are_exact_copies_or_near_duplicates_of_the_first_serving(
    served: list[pd.DataFrame],
) -> None:
    seen = first_seen(served)
    kinds = {"exact": 0, "price": 0, "sold": 0, "sold and price": 0}
    for b in range(2, BATCHES + 1):
        repeated = repeats_of(served, b)
        frame = served[b - 1][repeated]
        for key, row in zip(address_keys(frame), frame.to_dict("records"), strict=True):
            first_batch, original = seen[key]
            assert first_batch < b
            stays = [c for c in frame.columns if c not in CHANGEABLE]
            assert all(same(row[c], original[c]) for c in stays), (row, original)
            old, new = as_number(original["price"]), as_number(row["price"])
            price_moved = not same(old, new)
            sold = row["status"] != original["status"]
            if sold:
                assert (original["status"], row["status"]) == ("for_sale", "sold")
            if price_moved:
                # 1-5 %, rounded to $100; at least $100 (dirt can make a price tiny).
                assert 0.01 * old - 50 <= abs(new - old) <= max(0.05 * old + 50, 100), (old, new)
                assert new % 100 == 0
            else:
                assert same(row["price"], original["price"])  # not even reformatted
            kind = {
                (False, False): "exact",
                (True, False): "price",
                (False, True): "sold",
                (True, True): "sold and price",
            }[(price_moved, sold)]
            kinds[kind] += 1
    total = sum(kinds.values())
    assert total > 0.19 * N * (BATCHES - 1)
    near = 1 - kinds["exact"] / total
    assert NEAR_DUPLICATE_SHARE == 0.5  # half, as documented
    assert abs(near - 0.5) < 0.04, kinds
    # A third each among near duplicates, but only for_sale listings (60 %) can be sold:
    # price only ~ (1/3 + 2/3 * 0.4), sold ~ 0.6 / 3, sold and price ~ 0.6 / 3.
    assert abs(kinds["price"] / (total - kinds["exact"]) - 0.6) < 0.05, kinds
    assert abs(kinds["sold"] / (total - kinds["exact"]) - 0.2) < 0.05, kinds
    assert abs(kinds["sold and price"] / (total - kinds["exact"]) - 0.2) < 0.05, kinds


def test_rows_that_are_not_repeats_are_the_fresh_rows() -> None:
    replaced = {}
    for share in (0.1, 0.3):
        batch = overlapping(share)(GROUP, DAY, 3)
        differs = ~rows_equal(batch, fresh(GROUP, DAY, 3))
        replaced[share] = set(np.flatnonzero(differs))
        assert len(replaced[share]) == round(share * N)
    # The repeat positions come from a stream of their own: a larger share adds positions.
    assert replaced[0.1] < replaced[0.3]


def test_batch_one_and_share_zero_serve_the_fresh_batches(served: list[pd.DataFrame]) -> None:
    pd.testing.assert_frame_equal(served[0], fresh(GROUP, DAY, 1))
    batches = overlapping(0.0)
    for b in range(1, BATCHES + 1):
        pd.testing.assert_frame_equal(batches(GROUP, DAY, b), fresh(GROUP, DAY, b))


def test_a_batch_is_the_same_whether_earlier_ones_were_served_or_not(
    served: list[pd.DataFrame],
) -> None:
    # A new instance has kept nothing: it builds batches 1-3 again to find the repeats.
    cold = overlapping()(GROUP, DAY, 4)
    pd.testing.assert_frame_equal(cold, served[3])
    pd.testing.assert_frame_equal(overlapping()(GROUP, DAY, 4), cold)
    other_group = overlapping()(GROUP + 1, DAY, 4)
    assert not rows_equal(other_group, cold).any()


def test_days_are_kept_apart_and_only_the_last_few(served: list[pd.DataFrame]) -> None:
    batches = overlapping()
    batches(GROUP, DAY, 1)
    for day in range(7):
        if day != DAY:
            batches(GROUP, day, 1)  # keeps the rows its later batches take
    assert len(batches._kept) == _KEPT_DAYS
    # (GROUP, DAY)'s batch-1 rows were dropped: built again, not taken from another day.
    pd.testing.assert_frame_equal(batches(GROUP, DAY, 2), served[1])


def test_batch_number_and_row_count_are_checked() -> None:
    with pytest.raises(ValueError, match="batch must be between 1 and 5, got 6"):
        overlapping()(GROUP, DAY, 6)
    short = OverlappingBatches(fresh, seed=SEED, share=SHARE, batches_per_day=3, rows=N + 1)
    with pytest.raises(ValueError, match="has 4000 rows, expected 4001"):
        short(GROUP, DAY, 2)
