"""The data API's record schema and the validation of its answers.

A response is checked here before any of it is stored, so a nested or partial layout can
never become a raw batch or a drift reference (the original's ``KeyError: price``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = [
    "RAW_COLUMNS",
    "REQUIRED_COLUMNS",
    "Batch",
    "SchemaError",
    "check_frame",
    "parse_response",
]

#: Columns of a listing record, in the realtor.com layout.
RAW_COLUMNS = (
    "brokered_by",
    "status",
    "price",
    "bed",
    "bath",
    "acre_lot",
    "street",
    "city",
    "state",
    "zip_code",
    "house_size",
    "prev_sold_date",
)
#: Columns without which a batch is useless for training.
REQUIRED_COLUMNS = ("price", "bed", "bath", "acre_lot", "house_size", "state", "status")
#: Keys of the envelope around the records; seeing these as columns means a parsing bug.
ENVELOPE_KEYS = ("group_number", "day", "batch_number", "data")


class SchemaError(ValueError):
    """A data API answer or a stored frame does not follow the record schema."""


@dataclass(frozen=True)
class Batch:
    """One validated batch: where it came from and its records as text-typed columns."""

    group_number: int
    day: str
    batch_number: int
    frame: pd.DataFrame


def parse_response(payload: Any, *, group_number: int, day: str) -> Batch:
    """Validate a ``/data`` JSON answer and return its records as a DataFrame.

    Values are kept as the API sent them (as strings, so ``"00601"`` and ``"3"`` survive);
    typing them is the cleaning step's job.

    Raises:
        SchemaError: the envelope or the records do not follow the contract.
    """
    if not isinstance(payload, dict):
        raise SchemaError(f"expected a JSON object, got {type(payload).__name__}")
    missing = [key for key in ENVELOPE_KEYS if key not in payload]
    if missing:
        raise SchemaError(f"response lacks {missing}; keys present: {sorted(payload)[:10]}")
    if payload["group_number"] != group_number or str(payload["day"]) != day:
        raise SchemaError(
            f"asked for group {group_number}/{day}, the API answered for "
            f"group {payload['group_number']}/{payload['day']}"
        )
    batch_number = payload["batch_number"]
    if not isinstance(batch_number, int) or isinstance(batch_number, bool) or batch_number < 0:
        raise SchemaError(f"batch_number must be a non-negative integer, got {batch_number!r}")
    records = payload["data"]
    if not isinstance(records, list):
        raise SchemaError(f"'data' must be a list of records, got {type(records).__name__}")
    if not records:
        raise SchemaError(f"batch {batch_number} of group {group_number}/{day} has no records")
    if not all(isinstance(record, dict) for record in records):
        raise SchemaError("every element of 'data' must be a JSON object (a listing record)")
    frame = pd.DataFrame.from_records(records)
    check_frame(frame, where=f"batch {batch_number} of group {group_number}/{day}")
    frame = frame.reindex(columns=list(RAW_COLUMNS))
    text = frame.astype("string")
    return Batch(group_number, day, batch_number, text)


def check_frame(frame: pd.DataFrame, *, where: str) -> None:
    """Raise :class:`SchemaError` unless ``frame`` has the record columns.

    Optional columns may be absent; required ones may not, and envelope keys as columns mean
    the records were never unwrapped.
    """
    nested = [key for key in ENVELOPE_KEYS if key in frame.columns]
    if len(nested) >= 2:
        raise SchemaError(
            f"{where} has envelope columns {nested}: the API answer was stored without "
            "unwrapping 'data'. Delete that object and ingest again."
        )
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise SchemaError(
            f"{where} lacks required columns {missing}; columns present: {list(frame.columns)}"
        )
