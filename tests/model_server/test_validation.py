"""Unit tests of request validation: one message per bad field, never an exception."""

from __future__ import annotations

import pytest

from house_prices.listing_contract import ListingContract
from model_server.validation import ValidationFailed, parse_json, validate_listings

SUMMARY = {
    "numeric": {
        "bed": {"min": 0.0, "max": 10.0, "median": 3.0},
        "bath": {"min": 0.0, "max": 6.0, "median": 2.0},
        "acre_lot": {"min": 0.0, "max": 2.0, "median": 0.5},
        "house_size": {"min": 0.0, "max": 8000.0, "median": 2000.0},
    },
    "categorical": {"state": ["Ohio", "Texas"], "status": ["for_sale", "sold", "ready_to_build"]},
}
CONTRACT = ListingContract.from_summary(SUMMARY)
GOOD = {
    "bed": 3,
    "bath": 2,
    "acre_lot": 0.2,
    "house_size": 1800,
    "state": "Texas",
    "status": "sold",
}


def fields_of(body, max_batch=5, allow_batch=True) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_listings(body, CONTRACT, max_batch, allow_batch)
    return caught.value.fields


def test_good_listing_and_batch_pass():
    assert validate_listings({"listing": GOOD}, CONTRACT, 5) == [GOOD]
    extra = {**GOOD, "city": "Austin", "zip_code": "78701", "bed": None}
    assert validate_listings({"listings": [GOOD, extra]}, CONTRACT, 5) == [GOOD, extra]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"bed": "x"}, "listing.bed", "must be a number"),
        ({"bed": True}, "listing.bed", "must be a number"),
        ({"bath": [1]}, "listing.bath", "must be a number"),
        ({"bed": -1}, "listing.bed", "at least 0"),
        ({"bed": 11}, "listing.bed", "at most 10"),
        ({"house_size": 0}, "listing.house_size", "greater than 0"),
        ({"house_size": 1e9}, "listing.house_size", "at most 8000"),
        ({"acre_lot": 2.5}, "listing.acre_lot", "at most 2"),
        ({"state": "Atlantis"}, "listing.state", "unknown state"),
        ({"state": 5}, "listing.state", "must be a string"),
        ({"status": "rented"}, "listing.status", "must be one of"),
        ({"status": None}, "listing.status", "must be one of"),
        ({"zip_code": "123"}, "listing.zip_code", "5 digits"),
        ({"zip_code": 12345}, "listing.zip_code", "5 digits"),
        ({"city": 3}, "listing.city", "must be a string"),
        ({"colour": "red"}, "listing.colour", "unknown field"),
    ],
)
def test_each_bad_field_gets_its_message(change, field, words):
    fields = fields_of({"listing": {**GOOD, **change}})
    assert list(fields) == [field]
    assert words in fields[field]


@pytest.mark.parametrize("missing", ["bed", "bath", "acre_lot", "house_size", "state", "status"])
def test_missing_fields_are_named(missing):
    listing = {key: value for key, value in GOOD.items() if key != missing}
    fields = fields_of({"listing": listing})
    assert fields == {f"listing.{missing}": fields[f"listing.{missing}"]}
    assert "required" in fields[f"listing.{missing}"]


def test_several_errors_in_a_batch_are_all_reported_with_their_index():
    fields = fields_of({"listings": [GOOD, {**GOOD, "bed": "x"}, {**GOOD, "state": 1}]})
    assert set(fields) == {"listings[1].bed", "listings[2].state"}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ([GOOD], "body", "must be an object"),
        ("text", "body", "must be an object"),
        ({}, "listing", "exactly one"),
        ({"listing": GOOD, "listings": [GOOD]}, "listing", "exactly one"),
        ({"listing": GOOD, "extra": 1}, "extra", "unknown field"),
        ({"listing": "house"}, "listing", "must be an object"),
        ({"listings": []}, "listings", "1 to 5"),
        ({"listings": [GOOD] * 6}, "listings", "1 to 5"),
        ({"listings": GOOD}, "listings", "must be an array"),
    ],
)
def test_body_shape_errors(body, field, words):
    fields = fields_of(body)
    assert words in fields[field]


def test_explain_accepts_no_batch():
    fields = fields_of({"listings": [GOOD]}, allow_batch=False)
    assert "listings" in fields


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{", "not valid JSON"),
        (b'{"listing": NaN}', "not valid JSON"),
        (b'{"listing": Infinity}', "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"", "not valid JSON"),
    ],
)
def test_invalid_json_is_rejected_with_a_reason(raw, words):
    with pytest.raises(ValidationFailed) as caught:
        parse_json(raw)
    assert words in caught.value.message
