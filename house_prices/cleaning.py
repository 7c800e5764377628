"""Validation and cleaning of raw listing batches, with a count of rows dropped per rule.

Rules, applied in this order (each documented in the README's "Cleaning rules" table):

1. ``schema``: the batch must have the record columns (``schema.check_frame``); otherwise the
   whole batch is refused and nothing is written.
2. ``price_missing``: rows whose price is missing or not a number are dropped.
3. ``price_out_of_range``: rows priced outside ``[price_min, price_max]`` are dropped.
4. ``state_missing`` / ``status_unknown``: rows without a state, or with a status other than
   the known ones, are dropped.
5. Implausible feature values (zero or negative sizes, more than ``max_rooms`` beds or baths,
   a house larger than ``max_house_size``, a lot larger than ``max_acre_lot``) are blanked, not
   dropped: the model imputes them. Their count is reported as ``values_blanked``.
6. ``no_size_information``: rows with neither bed, bath nor house size are dropped.
7. ``duplicate``: exact duplicates after normalisation are dropped.

Every row gets a ``listing_id`` (``identity.listing_ids``) from its values as sent, before any
is blanked; the report counts how many were identified by address and how many by description.

A batch left with fewer than ``min_rows`` rows raises :class:`CleaningError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from house_prices.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, STATUSES
from house_prices.identity import LISTING_ID, address_known, listing_ids
from house_prices.schema import check_frame

__all__ = ["CleaningError", "CleaningResult", "CleaningRules", "clean"]


class CleaningError(ValueError):
    """A batch is unusable after cleaning."""


@dataclass(frozen=True)
class CleaningRules:
    """Thresholds of the cleaning rules; the defaults suit US residential listings."""

    price_min: float = 10_000.0
    price_max: float = 50_000_000.0
    max_rooms: float = 30.0
    max_house_size: float = 100_000.0
    min_house_size: float = 100.0
    max_acre_lot: float = 10_000.0
    min_rows: int = 50


@dataclass(frozen=True)
class CleaningResult:
    """The cleaned frame and what each rule did to it."""

    frame: pd.DataFrame
    report: dict[str, int]


def _to_number(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.replace(r"[$,\s]", "", regex=True)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _normalise_zip(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.strip().str.replace(r"\.0+$", "", regex=True)
    digits = text.where(text.str.fullmatch(r"\d{1,5}", na=False))
    return digits.str.zfill(5)


def _normalise_text(column: pd.Series) -> pd.Series:
    text = column.astype("string").str.strip().str.replace(r"\s+", " ", regex=True)
    return text.mask(text == "")


def clean(
    raw: pd.DataFrame, rules: CleaningRules | None = None, *, where: str = "batch"
) -> CleaningResult:
    """Return the typed, cleaned rows of ``raw`` and the count of rows each rule dropped."""
    rules = rules or CleaningRules()
    check_frame(raw, where=where)
    frame = pd.DataFrame(index=raw.index)
    report: dict[str, int] = {"rows_in": len(raw)}

    frame["price"] = _to_number(raw["price"])
    for column in NUMERIC_FEATURES:
        frame[column] = _to_number(raw[column])
    frame["state"] = _normalise_text(raw["state"]).str.title()
    frame["status"] = _normalise_text(raw["status"]).str.lower().str.replace(" ", "_")
    frame["city"] = _normalise_text(raw["city"]) if "city" in raw else pd.NA
    frame["zip_code"] = _normalise_zip(raw["zip_code"]) if "zip_code" in raw else pd.NA
    frame["prev_sold_date"] = (
        pd.to_datetime(raw["prev_sold_date"], errors="coerce", format="mixed")
        if "prev_sold_date" in raw
        else pd.NaT
    )
    sent = frame.assign(**{name: raw[name] for name in ("street", "brokered_by") if name in raw})
    frame[LISTING_ID] = listing_ids(sent)
    by_address = address_known(sent)
    report["identity_by_address"] = int(by_address.sum())
    report["identity_by_description"] = int((~by_address).sum())

    def drop(rule: str, mask: pd.Series) -> None:
        nonlocal frame
        report[rule] = int(mask.sum())
        frame = frame[~mask]

    drop("price_missing", frame["price"].isna())
    drop(
        "price_out_of_range",
        (frame["price"] < rules.price_min) | (frame["price"] > rules.price_max),
    )
    drop("state_missing", frame["state"].isna())
    drop("status_unknown", ~frame["status"].isin(STATUSES).fillna(False).astype(bool))

    implausible = {
        "bed": (frame["bed"] < 0) | (frame["bed"] > rules.max_rooms),
        "bath": (frame["bath"] < 0) | (frame["bath"] > rules.max_rooms),
        "house_size": (frame["house_size"] < rules.min_house_size)
        | (frame["house_size"] > rules.max_house_size),
        "acre_lot": (frame["acre_lot"] <= 0) | (frame["acre_lot"] > rules.max_acre_lot),
    }
    blanked = 0
    for column, mask in implausible.items():
        blanked += int(mask.sum())
        frame.loc[mask, column] = np.nan
    report["values_blanked"] = blanked

    drop("no_size_information", frame[["bed", "bath", "house_size"]].isna().all(axis=1))
    drop("duplicate", frame.duplicated(keep="first"))

    frame = frame.reset_index(drop=True)
    frame[list(CATEGORICAL_FEATURES)] = frame[list(CATEGORICAL_FEATURES)].astype("string")
    report["rows_out"] = len(frame)
    if len(frame) < rules.min_rows:
        raise CleaningError(
            f"{where}: only {len(frame)} of {len(raw)} rows survive cleaning "
            f"(minimum {rules.min_rows}); rows dropped per rule: {report}"
        )
    return CleaningResult(frame, report)
