"""Leakage regression on realistic data: overlapping batches with exact and near duplicates.

Two batches of the emulator's listings; 40 % of the second are listings of the first served
again (as the real data API does), half exactly and half with a price moved by up to 5 %.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from data_api_emulator.generator import generate_batch
from house_prices.cleaning import clean
from house_prices.features import FEATURES, TARGET
from house_prices.identity import LISTING_ID, shared_listings
from house_prices.training import (
    TrainingConfig,
    build_pipeline,
    fit_challenger,
    score,
    training_rows,
)

ROWS, REPEATED, SEED = 8000, 0.4, 1


def cleaned(raw: pd.DataFrame) -> pd.DataFrame:
    return clean(raw.astype("string")).frame


@pytest.fixture(scope="module")
def batches():
    """Cleaned (first, second with repeats, second's fresh rows only)."""
    first = generate_batch(5, "Tuesday", 1, ROWS, SEED)
    second = generate_batch(5, "Tuesday", 2, ROWS, SEED)
    rng = np.random.default_rng(SEED)
    count = int(REPEATED * ROWS)
    replaced = rng.choice(ROWS, count, replace=False)
    repeats = first.iloc[rng.choice(ROWS, count, replace=False)].copy()
    near = rng.random(count) < 0.5
    price = pd.to_numeric(repeats["price"], errors="coerce")
    repeats.loc[near, "price"] = (price[near] * rng.uniform(0.95, 1.05, near.sum())).round(-2)
    fresh = second.drop(index=second.index[replaced])
    overlapping = pd.concat([fresh, repeats], ignore_index=True)
    return cleaned(first), cleaned(overlapping), cleaned(fresh)


def test_every_copy_of_a_listing_is_removed_and_counted(batches):
    first, overlapping, _ = batches
    rows, copies = training_rows([first, overlapping])
    assert rows[LISTING_ID].is_unique
    assert copies == overlapping[LISTING_ID].isin(first[LISTING_ID]).sum() > 0.35 * len(overlapping)
    # The newest batch's row wins: a near duplicate's new price is the one trained on.
    newest = overlapping.drop_duplicates(LISTING_ID, keep="last").set_index(LISTING_ID)["price"]
    kept = rows.set_index(LISTING_ID)["price"]
    pd.testing.assert_series_equal(kept[newest.index], newest, check_names=False)


def test_no_listing_is_in_both_training_and_holdout(batches):
    first, overlapping, _ = batches
    union = pd.concat([first, overlapping], ignore_index=True)
    row_split_train, row_split_holdout = train_test_split(union, test_size=0.2, random_state=42)
    # The old way (rows split at random) holds out listings the model trains on ...
    assert shared_listings(row_split_train, row_split_holdout) > 0.2 * len(row_split_holdout)
    # ... ours never does.
    challenger = fit_challenger(training_rows([first, overlapping])[0], TrainingConfig())
    assert shared_listings(challenger.train_rows, challenger.holdout) == 0


def test_the_reported_r2_is_the_one_without_copies(batches):
    first, overlapping, fresh = batches
    config = TrainingConfig()
    reported = fit_challenger(training_rows([first, overlapping])[0], config).metrics["r2"]
    without_copies = fit_challenger(training_rows([first, fresh])[0], config).metrics["r2"]
    assert reported == pytest.approx(without_copies, abs=0.05)
    # The data is such that leakage shows: the old way reports a clearly better model.
    union = pd.concat([first, overlapping], ignore_index=True)
    train, holdout = train_test_split(union, test_size=0.2, random_state=42)
    leaky = build_pipeline(config).fit(train[list(FEATURES)], train[TARGET])
    assert score(leaky, holdout)["r2"] > without_copies + 0.1
