import numpy as np
import pandas as pd
import pytest

from house_prices.cleaning import CleaningError, CleaningRules, clean
from house_prices.schema import RAW_COLUMNS, SchemaError

BASE = {
    "brokered_by": "1.0",
    "status": "for_sale",
    "price": "300000",
    "bed": "3",
    "bath": "2",
    "acre_lot": "0.2",
    "street": "1",
    "city": "Austin",
    "state": "Texas",
    "zip_code": "78701",
    "house_size": "1800",
    "prev_sold_date": "2019-05-01",
}
RULES = CleaningRules(min_rows=1)


def frame(*rows):
    return pd.DataFrame([{**BASE, **row} for row in rows], columns=list(RAW_COLUMNS)).astype(
        "string"
    )


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        ({"price": None}, "price_missing"),
        ({"price": "abc"}, "price_missing"),
        ({"price": "5"}, "price_out_of_range"),
        ({"price": "9999"}, "price_out_of_range"),
        ({"price": "900000000"}, "price_out_of_range"),
        ({"state": "  "}, "state_missing"),
        ({"status": "foreclosed"}, "status_unknown"),
        ({"bed": None, "bath": None, "house_size": None}, "no_size_information"),
        ({"price": "250000"}, "duplicate"),
    ],
)
def test_each_rule_drops_and_counts(row, rule):
    result = clean(frame({"price": "250000"}, row), RULES)
    assert result.report[rule] == 1
    assert result.report["rows_out"] == 1
    assert result.report["rows_in"] == 2


def test_types_and_normalises_values():
    result = clean(
        frame(
            {
                "price": "$1,250,000",
                "zip_code": "601.0",
                "state": " puerto  rico",
                "status": "Sold",
                "bed": "4.0",
            }
        ),
        RULES,
    )
    row = result.frame.iloc[0]
    assert row["price"] == 1_250_000.0
    assert row["zip_code"] == "00601"
    assert row["state"] == "Puerto Rico"
    assert row["status"] == "sold"
    assert row["bed"] == 4.0
    assert row["prev_sold_date"] == pd.Timestamp("2019-05-01")
    assert result.frame["bed"].dtype == np.float64


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("house_size", "0"),
        ("house_size", "99"),
        ("house_size", "100001"),
        ("house_size", "9999999"),
        ("bed", "99"),
        ("bed", "-1"),
        ("bath", "31"),
        ("bath", "-1"),
        ("acre_lot", "-1"),
        ("acre_lot", "0"),
        ("acre_lot", "10001"),
    ],
)
def test_implausible_values_are_blanked_not_dropped(column, value):
    result = clean(frame({column: value}), RULES)
    assert result.report["values_blanked"] == 1
    assert result.report["rows_out"] == 1
    assert pd.isna(result.frame.loc[0, column])


@pytest.mark.parametrize(
    ("price", "kept"),
    [("10000", True), ("9999.99", False), ("50000000", True), ("50000000.01", False)],
)
def test_price_bounds_are_inclusive(price, kept):
    result = clean(frame({"price": price}, {"price": "300000"}), RULES)
    assert result.report["price_out_of_range"] == (0 if kept else 1)


@pytest.mark.parametrize(("sent", "kept"), [("78701", "78701"), ("00601", "00601"), (601, "00601")])
def test_zip_codes_keep_five_digits(sent, kept):
    result = clean(frame({"zip_code": sent}), RULES)
    assert result.frame.loc[0, "zip_code"] == kept


def test_plausible_values_are_kept_as_sent():
    plausible = frame(
        {"bed": "0", "bath": "30", "house_size": "100", "acre_lot": "0.01"},
        {"bed": "30", "bath": "0", "house_size": "100000", "acre_lot": "10000", "price": "1e6"},
    )
    result = clean(plausible, RULES)
    assert result.report["values_blanked"] == 0
    assert result.frame[["bed", "bath", "house_size", "acre_lot"]].to_numpy().tolist() == [
        [0.0, 30.0, 100.0, 0.01],
        [30.0, 0.0, 100_000.0, 10_000.0],
    ]


def test_report_counts_how_listings_were_identified():
    result = clean(frame({}, {"street": "2"}, {"street": None, "price": "250000"}), RULES)
    assert result.report["identity_by_address"] == 2
    assert result.report["identity_by_description"] == 1
    assert result.frame["listing_id"].nunique() == 3


def test_schema_failure_refuses_the_batch():
    with pytest.raises(SchemaError, match="lacks required columns"):
        clean(frame({}).drop(columns=["price"]), RULES)


def test_a_batch_needs_fifty_rows_by_default():
    rows = [{"street": str(i)} for i in range(50)]
    assert clean(frame(*rows)).report["rows_out"] == 50
    with pytest.raises(CleaningError, match=r"only 49 of 49 rows survive cleaning \(minimum 50\)"):
        clean(frame(*rows[:49]))


def test_too_few_rows_left_is_an_error_with_the_counts():
    with pytest.raises(CleaningError, match=r"only 0 of 1 rows survive.*price_missing"):
        clean(frame({"price": None}), CleaningRules(min_rows=1))
