"""The listing contract: built from the training summary, its checks and its JSON Schema agree."""

from __future__ import annotations

import jsonschema
import pytest

from house_prices.features import NUMERIC_FEATURES, STATUSES, feature_summary
from house_prices.listing_contract import ListingContract
from testsupport.listings import five_listings

CONTRACT = ListingContract.from_summary(feature_summary(five_listings()))
GOOD = {"bed": 3, "bath": 2, "acre_lot": 0.2, "house_size": 1800, "state": "Ohio", "status": "sold"}
BED_MAX = CONTRACT.number("bed").maximum


def test_built_from_the_training_summary():
    described = CONTRACT.describe()
    assert described["categorical"] == {"state": ["Ohio", "Texas"], "status": list(STATUSES)}
    assert described["numeric"]["bed"]["median"] == 3.0
    assert described["numeric"]["bath"]["median"] == 1.5  # NaN left out
    assert BED_MAX >= 4.0
    assert set(described["optional"]) == {"city", "zip_code"}
    assert "does not use" in described["optional"]["city"]


def test_a_summary_read_back_from_get_model_gives_the_same_contract():
    assert ListingContract.from_summary(CONTRACT.describe()) == CONTRACT


def test_without_a_summary_nothing_is_bounded_above_and_any_state_is_described():
    contract = ListingContract.from_summary(None)
    assert [field.maximum for field in contract.numbers] == [None] * len(NUMERIC_FEATURES)
    assert "enum" not in contract.json_schema()["properties"]["state"]
    assert contract.problems({**GOOD, "state": "Atlantis", "bed": 1e6}) == {}


@pytest.mark.parametrize(
    "listing",
    [
        GOOD,
        {**GOOD, "bed": None, "city": "Austin", "zip_code": "78701"},
        {**GOOD, "bed": BED_MAX},
        {**GOOD, "bed": BED_MAX + 0.001},
        {**GOOD, "bed": -0.5},
        {**GOOD, "bed": 0},
        {**GOOD, "house_size": 0},
        {**GOOD, "house_size": 0.5},
        {**GOOD, "bed": "3"},
        {**GOOD, "bed": True},
        {**GOOD, "acre_lot": 10**400},
        {**GOOD, "bath": -(10**400)},
        {**GOOD, "state": "Atlantis"},
        {**GOOD, "state": None},
        {**GOOD, "status": "rented"},
        {**GOOD, "zip_code": "7870"},
        {**GOOD, "zip_code": 78701},
        {**GOOD, "city": 3},
        {**GOOD, "colour": "red"},
        {key: value for key, value in GOOD.items() if key != "bath"},
        {key: value for key, value in GOOD.items() if key != "status"},
    ],
)
def test_the_checks_and_the_json_schema_accept_the_same_listings(listing):
    valid = jsonschema.Draft202012Validator(CONTRACT.json_schema()).is_valid(listing)
    assert valid == (CONTRACT.problems(listing) == {}), CONTRACT.problems(listing)


def test_each_problem_is_named_by_its_field():
    problems = CONTRACT.problems({**GOOD, "bed": BED_MAX + 1, "state": "Atlantis", "x": 1})
    assert set(problems) == {"bed", "state", "x"}
    assert f"at most {BED_MAX:g}" in problems["bed"]
    assert "the model knows Ohio, Texas" in problems["state"]


def test_a_huge_integer_is_out_of_range_not_an_error():
    """JSON allows integers of any size; float(10**400) overflows."""
    problems = CONTRACT.problems({**GOOD, "acre_lot": 10**400, "bath": -(10**400)})
    assert "at most" in problems["acre_lot"] and "at least" in problems["bath"]


def test_nullable_categories_let_state_and_status_be_null():
    listing = {**GOOD, "state": None, "status": None}
    assert set(CONTRACT.problems(listing)) == {"state", "status"}
    assert CONTRACT.problems(listing, nullable_categories=True) == {}
