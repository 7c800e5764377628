import numpy as np
import pandas as pd
import pytest

from house_prices.drift import DriftThresholds, detect_drift


def sample(n, seed, price_shift=1.0, size_shift=0.0, texas_share=0.5):
    rng = np.random.default_rng(seed)
    size = rng.normal(1800 + size_shift, 400, n)
    return pd.DataFrame(
        {
            "bed": rng.integers(1, 6, n).astype(float),
            "bath": rng.integers(1, 4, n).astype(float),
            "acre_lot": rng.exponential(0.3, n),
            "house_size": size,
            "price": size * 200 * price_shift * rng.lognormal(0, 0.3, n),
            "state": np.where(rng.random(n) < texas_share, "Texas", "Ohio"),
            "status": rng.choice(["for_sale", "sold"], n),
        }
    )


def test_same_distribution_does_not_drift():
    report = detect_drift(sample(20000, 1), sample(5000, 2))
    assert report["dataset_drift"] is False
    assert report["drifted_features"] == []


def test_small_shift_on_a_big_sample_is_significant_but_not_drift():
    """The original's bug: p < 0.05 alone flags a 5 % price shift at this size."""
    report = detect_drift(sample(200_000, 1), sample(50_000, 2, price_shift=1.05))
    price = report["features"]["price"]
    assert price["p_value"] < 1e-6
    assert price["statistic"] < 0.1
    assert not price["drifted"]


def test_large_shift_drifts():
    report = detect_drift(sample(20000, 1), sample(5000, 2, price_shift=1.8, size_shift=600))
    assert report["dataset_drift"] is True
    assert {"price", "house_size"} <= set(report["drifted_features"])


def test_categorical_shift_and_new_categories():
    current = sample(5000, 2, texas_share=0.95)
    current.loc[:99, "state"] = "Guam"
    report = detect_drift(sample(20000, 1), current)
    state = report["features"]["state"]
    assert state["drifted"] and state["new_categories"] == ["Guam"]
    assert report["features"]["status"]["drifted"] is False


def test_thresholds_are_configurable_and_reported():
    limits = DriftThresholds(ks_statistic=0.01, p_value=0.05)
    report = detect_drift(sample(20000, 1), sample(20000, 2, price_shift=1.05), limits)
    assert report["features"]["price"]["drifted"]
    assert report["thresholds"]["ks_statistic"] == 0.01


@pytest.mark.parametrize("column", ["price", "state"])
def test_empty_column_is_not_drift(column):
    current = sample(100, 2)
    current[column] = np.nan
    report = detect_drift(sample(1000, 1), current)
    assert report["features"][column]["drifted"] is False
