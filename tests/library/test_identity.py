import numpy as np
import pandas as pd
import pytest

from house_prices.cleaning import CleaningRules, clean
from house_prices.identity import (
    LISTING_ID,
    holdout_fingerprint,
    in_holdout,
    listing_ids,
    shared_listings,
)
from house_prices.schema import RAW_COLUMNS

LISTING = {
    "brokered_by": "103378.0",
    "status": "for_sale",
    "price": "300000",
    "bed": "3",
    "bath": "2",
    "acre_lot": "0.2",
    "street": "1962661.0",
    "city": "Austin",
    "state": "Texas",
    "zip_code": "78701",
    "house_size": "1800",
    "prev_sold_date": "2019-05-01",
}


def ids_of(*changes, columns=RAW_COLUMNS):
    """Listing ids of cleaned rows: ``LISTING`` with each change applied, one row per change.

    Each row gets its own price, so that cleaning keeps rows that differ only in identity.
    """
    rows = pd.DataFrame(
        [{**LISTING, "price": str(300_000 + i), **change} for i, change in enumerate(changes)]
    )
    rows = rows.reindex(columns=list(columns)).astype("string")
    cleaned = clean(rows, CleaningRules(min_rows=1)).frame
    assert len(cleaned) == len(changes), "a row was dropped: the test data is wrong"
    return list(cleaned[LISTING_ID])


def test_the_same_address_sent_differently_is_one_listing():
    ids = ids_of(
        {},
        {"street": "1962661", "zip_code": "78701.0", "city": " austin ", "state": "TEXAS"},
        {"street": " 1962661.00"},
    )
    assert len(set(ids)) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"price": "320000"},
        {"status": "sold"},
        {"brokered_by": "555.0"},
        {"house_size": "1850", "bed": "4"},
        {"prev_sold_date": ""},
    ],
)
def test_a_relisting_of_the_same_address_is_the_same_listing(change):
    first, again = ids_of({}, change)
    assert first == again


@pytest.mark.parametrize(
    "change",
    [{"street": "1962662.0"}, {"zip_code": "78702"}, {"city": "Dallas"}, {"state": "Ohio"}],
)
def test_another_address_is_another_listing(change):
    first, other = ids_of({}, change)
    assert first != other


def test_without_a_street_the_description_identifies_the_listing():
    no_street = {"street": None}
    ids = ids_of(
        no_street,
        {**no_street, "price": "250000", "status": "sold"},  # price and status are not identity
        {**no_street, "bed": "4"},
        {**no_street, "brokered_by": "9.0"},
        {**no_street, "acre_lot": "0.25"},
        {},  # with a street: identified by address, never equal to a description
    )
    assert ids[0] == ids[1]
    assert len(set(ids)) == 5


def test_the_older_export_without_broker_and_street_columns_gets_identities():
    columns = [c for c in RAW_COLUMNS if c not in ("brokered_by", "street")]
    ids = ids_of({}, {"bed": "4"}, {"price": "350000"}, columns=columns)
    assert ids[0] == ids[2] != ids[1]
    assert all(len(i) == 16 for i in ids)


def test_identities_do_not_depend_on_the_rest_of_the_frame():
    frame = pd.DataFrame(
        {"street": ["1", "2", None], "city": ["a", "b", "c"], "bed": [1.0, 2.0, 3.0]}
    )
    alone = listing_ids(frame.iloc[[2, 0]])
    together = listing_ids(pd.concat([frame, frame.assign(street=["7", "8", "9"])]))
    assert list(alone) == [together.iloc[2], together.iloc[0]]


@pytest.fixture(scope="module")
def many_ids():
    return pd.Series([f"{i:016x}" for i in range(20_000)], dtype="string")


def test_the_holdout_is_a_pure_function_of_the_listing(many_ids):
    everything = in_holdout(many_ids, 0.2)
    shuffled = many_ids.sample(frac=1.0, random_state=3)
    again = pd.Series(in_holdout(shuffled, 0.2), index=shuffled.index).sort_index()
    assert (again.to_numpy() == everything).all()
    # A later batch holding a few of the same listings puts them on the same side.
    later = many_ids.iloc[[5, 17, 400, 19_999]]
    assert list(in_holdout(later, 0.2)) == list(everything[[5, 17, 400, 19_999]])


@pytest.mark.parametrize("share", [0.1, 0.2, 0.35])
def test_the_holdout_share_is_the_configured_share_of_listings(many_ids, share):
    assert in_holdout(many_ids, share).mean() == pytest.approx(share, abs=0.015)


def test_a_larger_share_only_adds_listings(many_ids):
    small, large = in_holdout(many_ids, 0.1), in_holdout(many_ids, 0.2)
    assert (large | ~small).all()


@pytest.mark.parametrize("share", [0.0, 1.0, -0.1])
def test_the_share_must_be_a_fraction(many_ids, share):
    with pytest.raises(ValueError, match="holdout share"):
        in_holdout(many_ids, share)


def test_shared_listings_and_the_holdout_fingerprint():
    a = pd.DataFrame({LISTING_ID: ["x", "y", "z"]})
    b = pd.DataFrame({LISTING_ID: ["z", "y", "w", "w"]})
    assert shared_listings(a, b) == 2
    assert shared_listings(a, b.iloc[2:]) == 0
    assert holdout_fingerprint(a) == holdout_fingerprint(a.iloc[::-1])
    assert holdout_fingerprint(a) != holdout_fingerprint(a.iloc[:2])
    assert np.unique([holdout_fingerprint(b), holdout_fingerprint(a)]).size == 2
