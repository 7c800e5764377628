import pandas as pd
import pytest

from house_prices.schema import RAW_COLUMNS, SchemaError, check_frame, parse_response

RECORD = {
    "brokered_by": 103378.0,
    "status": "for_sale",
    "price": 105000.0,
    "bed": 3,
    "bath": 2,
    "acre_lot": 0.12,
    "street": 1962661.0,
    "city": "Adjuntas",
    "state": "Puerto Rico",
    "zip_code": "00601",
    "house_size": 920.0,
    "prev_sold_date": None,
}


def payload(**overrides):
    return {"group_number": 5, "day": "Tuesday", "batch_number": 1, "data": [RECORD], **overrides}


def test_parses_records_as_text_keeping_leading_zeros():
    batch = parse_response(payload(), group_number=5, day="Tuesday")
    assert batch.batch_number == 1
    assert list(batch.frame.columns) == list(RAW_COLUMNS)
    assert batch.frame.loc[0, "zip_code"] == "00601"
    assert batch.frame.loc[0, "price"] == "105000.0"
    assert pd.isna(batch.frame.loc[0, "prev_sold_date"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([RECORD], "expected a JSON object"),
        ({"data": [RECORD]}, "response lacks"),
        (payload(group_number=6), "answered for group 6"),
        (payload(batch_number="3"), "batch_number must be a non-negative integer"),
        (payload(data={"a": 1}), "'data' must be a list"),
        (payload(data=[]), "has no records"),
        (payload(data=[1, 2]), "must be a JSON object"),
        (payload(data=[{k: v for k, v in RECORD.items() if k != "price"}]), r"lacks required"),
    ],
)
def test_refuses_off_contract_answers(body, message):
    with pytest.raises(SchemaError, match=message):
        parse_response(body, group_number=5, day="Tuesday")


def test_nested_layout_is_named_as_such():
    nested = pd.DataFrame(
        {"group_number": [5], "day": ["Tuesday"], "batch_number": [1], "data": ["[...]"]}
    )
    with pytest.raises(SchemaError, match="without unwrapping 'data'"):
        check_frame(nested, where="reference.csv")
