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
@pytest.mark.parametrize("empty", ["reference", "current"])
def test_empty_column_is_not_drift(column, empty):
    frames = {"reference": sample(1000, 1), "current": sample(100, 2)}
    frames[empty][column] = np.nan
    report = detect_drift(frames["reference"], frames["current"])
    assert report["features"][column] == {
        "test": "ks" if column == "price" else "chi2+js",
        "drifted": False,
        "note": "no values to compare",
    }


def frames_differing_in(column, reference_values, current_values):
    """Two frames equal in every feature except ``column``."""

    def frame(values):
        n = len(values)
        base = {
            "bed": np.full(n, 3.0),
            "bath": np.full(n, 2.0),
            "acre_lot": np.full(n, 0.2),
            "house_size": np.full(n, 1800.0),
            "price": np.full(n, 300_000.0),
            "state": np.full(n, "Texas", dtype=object),
            "status": np.full(n, "for_sale", dtype=object),
        }
        return pd.DataFrame({**base, column: values})

    return frame(reference_values), frame(current_values)


def spread(n, shift=0.0):
    return 200_000 + 100_000 * (np.linspace(0, 1, n) + shift)


def test_a_moderate_numeric_shift_on_many_rows_is_drift_by_default():
    """KS statistic 0.15 (between the default 0.1 and a careless 0.25), p ~ 1e-20."""
    report = detect_drift(*frames_differing_in("price", spread(2000), spread(2000, 0.15)))
    assert report["features"]["price"]["statistic"] == pytest.approx(0.15, abs=0.002)
    assert report["drifted_features"] == ["price"]
    assert report["dataset_drift"] is True  # one drifted feature is enough by default


def test_a_large_effect_without_significance_is_not_drift():
    """KS statistic 0.22 on 100 rows: p ~ 0.016, not below the default 0.01."""
    report = detect_drift(*frames_differing_in("house_size", spread(100), spread(100, 0.22)))
    size = report["features"]["house_size"]
    assert size["statistic"] >= 0.1 and 0.01 < size["p_value"] < 0.02
    assert size["drifted"] is False
    assert report["dataset_drift"] is False


def status_counts(for_sale, sold):
    return np.array(["for_sale"] * for_sale + ["sold"] * sold, dtype=object)


def test_a_significant_but_small_category_shift_is_not_drift():
    """50/50 against 51.5/48.5 on 100k rows: p ~ 2e-11, Jensen-Shannon distance 0.013."""
    report = detect_drift(
        *frames_differing_in("status", status_counts(50_000, 50_000), status_counts(51_500, 48_500))
    )
    status = report["features"]["status"]
    assert status["p_value"] < 1e-6 and status["statistic"] < 0.1
    assert status["drifted"] is False


def test_a_clear_category_shift_is_drift_by_default():
    """50/50 against 65/35 on 1,000 rows: distance 0.13 (between 0.1 and a careless 0.2)."""
    report = detect_drift(
        *frames_differing_in("status", status_counts(500, 500), status_counts(650, 350))
    )
    assert report["features"]["status"]["statistic"] == pytest.approx(0.129, abs=0.005)
    assert report["drifted_features"] == ["status"]
    state = report["features"]["state"]  # one category on both sides: nothing to test
    assert state["p_value"] == 1.0 and state["statistic"] == 0.0 and not state["drifted"]


def test_a_category_shift_on_a_handful_of_rows_is_not_drift():
    """The same 50/50 against 80/20 on 10 rows each: distance 0.27 but p ~ 0.35."""
    report = detect_drift(*frames_differing_in("status", status_counts(5, 5), status_counts(8, 2)))
    status = report["features"]["status"]
    assert status["statistic"] >= 0.1 and status["p_value"] > 0.05
    assert status["drifted"] is False


def test_the_effect_size_thresholds_are_inclusive():
    """A KS statistic of exactly 0.1 (p ~ 4e-9) drifts: the README says "≥ 0.1"."""
    report = detect_drift(*frames_differing_in("bed", spread(2000), spread(2000, 0.1)))
    assert report["features"]["bed"]["statistic"] == 0.1
    assert report["drifted_features"] == ["bed"]


def test_categories_seen_on_one_side_only_are_counted_as_absent_on_the_other():
    texas = np.full(1000, "Texas", dtype=object)
    current = np.array([f"Territory {i % 25}" for i in range(1000)], dtype=object)
    report = detect_drift(*frames_differing_in("state", texas, current))
    state = report["features"]["state"]
    assert state["statistic"] == pytest.approx(1.0)  # disjoint: the largest distance there is
    assert state["drifted"] is True
    assert len(state["new_categories"]) == 20  # listed up to 20, sorted
    assert state["new_categories"] == sorted(state["new_categories"])
