"""What the loader refuses to serve: a feature summary that gives no range to validate with."""

import pytest

from house_prices.listing_contract import ListingContract
from model_server.loader import _require_ranges

RANGES = {
    "bed": {"min": 0.0, "max": 20.0, "median": 3.0},
    "bath": {"min": 0.0, "max": 10.0, "median": 2.0},
    "acre_lot": {"min": 0.0, "max": 5.0, "median": None},  # an all-missing column has no median
    "house_size": {"min": 0.0, "max": 9000.0, "median": 1800.0},
}


def test_a_complete_summary_gives_ranges_and_categories():
    summary = {"numeric": RANGES, "categorical": {"state": ["Ohio"]}}
    _require_ranges(summary, "run-1")
    features = ListingContract.from_summary(summary).describe()
    assert features["numeric"]["house_size"] == {"min": 0.0, "max": 9000.0, "median": 1800.0}
    assert features["categorical"]["state"] == ["Ohio"]


@pytest.mark.parametrize(("feature", "bound"), [("bed", "max"), ("house_size", "min")])
def test_a_summary_without_a_range_is_refused_with_the_run_and_feature(feature, bound):
    numeric = {name: dict(ranges) for name, ranges in RANGES.items()}
    del numeric[feature][bound]
    with pytest.raises(ValueError, match=rf"run run-7 gives no range for \['{feature}'\]"):
        _require_ranges({"numeric": numeric}, "run-7")
    with pytest.raises(ValueError, match="gives no range"):
        _require_ranges({}, "run-7")
