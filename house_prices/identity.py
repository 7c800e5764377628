"""Which listing a row describes, and whether that listing belongs to the holdout.

The data API samples its batches from one pool, so one listing comes back in later batches,
exactly or with a new price or status. Evaluation is honest only if every copy of a listing
lands on the same side of the train/holdout line, in every batch and for every model version.
So a row gets a ``listing_id`` from its own columns, and the holdout is a pure function of it.

The identity is, after the cleaning step's normalisation:

* the **address** (``street``, ``city``, ``state``, ``zip_code``) when ``street`` is known.
  Price, status, broker and sizes are left out on purpose: a relisting with a new price, a
  sale, another broker or a corrected size is the same house.
* otherwise the **description** (``brokered_by``, ``city``, ``state``, ``zip_code``, ``bed``,
  ``bath``, ``house_size``, ``acre_lot``), e.g. for the older public export without ``street``
  and ``brokered_by``. Two different houses with the same description then count as one
  listing (they stay together, which errs on the side of a clean holdout), and a relisting
  whose sizes were corrected counts as two.

Missing parts are hashed as empty, so a missing zip code is still a value of the identity.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

__all__ = [
    "ADDRESS_COLUMNS",
    "DESCRIPTION_COLUMNS",
    "LISTING_ID",
    "address_known",
    "holdout_fingerprint",
    "in_holdout",
    "listing_ids",
    "shared_listings",
]

LISTING_ID = "listing_id"
ADDRESS_COLUMNS = ("street", "city", "state", "zip_code")
DESCRIPTION_COLUMNS = (
    "brokered_by",
    "city",
    "state",
    "zip_code",
    "bed",
    "bath",
    "house_size",
    "acre_lot",
)
#: The holdout share is resolved in steps of 1/10,000.
_BUCKETS = 10_000
_SEPARATOR = "\x1f"


def _as_text(column: pd.Series) -> pd.Series:
    """Text that is equal for equal values: ``3``, ``3.0`` and ``" 3.0 "`` all give ``3``."""
    if column.dtype.kind in "fiu":
        numbers = pd.to_numeric(column, errors="coerce")
        text = numbers.map(
            lambda value: "" if pd.isna(value) else np.format_float_positional(value, trim="-")
        )
        return text.astype(object)
    text = column.astype("string").str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    text = text.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    return text.fillna("").astype(object)


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _hash(parts: pd.DataFrame, kind: str) -> pd.Series:
    joined = pd.Series(kind, index=parts.index, dtype=object)
    for name in parts.columns:
        joined = joined + _SEPARATOR + parts[name]
    return joined.map(_digest)


def _texts(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    blank = pd.Series("", index=frame.index, dtype=object)
    return pd.DataFrame({name: _as_text(frame[name]) if name in frame else blank for name in names})


def address_known(frame: pd.DataFrame) -> pd.Series:
    """True for rows identified by their address (their street is known)."""
    return _texts(frame, ("street",))["street"] != ""


def listing_ids(frame: pd.DataFrame) -> pd.Series:
    """A 16-hex-digit identity per row (see the module docstring for what it is made of)."""
    text = _texts(frame, tuple(dict.fromkeys((*ADDRESS_COLUMNS, *DESCRIPTION_COLUMNS))))
    has_street = text["street"] != ""
    ids = pd.Series("", index=frame.index, dtype=object)
    if has_street.any():
        ids[has_street] = _hash(text.loc[has_street, list(ADDRESS_COLUMNS)], "address")
    if (~has_street).any():
        ids[~has_street] = _hash(text.loc[~has_street, list(DESCRIPTION_COLUMNS)], "description")
    return ids.astype("string").rename(LISTING_ID)


def in_holdout(ids: pd.Series, share: float) -> np.ndarray:
    """True for listings in the holdout: the same listings for every batch and every retrain."""
    if not 0 < share < 1:
        raise ValueError(f"holdout share {share} must lie strictly between 0 and 1")
    buckets = np.fromiter(
        (int(_digest(f"holdout{_SEPARATOR}{listing}"), 16) % _BUCKETS for listing in ids),
        dtype=np.int64,
        count=len(ids),
    )
    return buckets < round(share * _BUCKETS)


def shared_listings(left: pd.DataFrame, right: pd.DataFrame) -> int:
    """How many listings occur in both frames."""
    return len(set(left[LISTING_ID].dropna()) & set(right[LISTING_ID].dropna()))


def holdout_fingerprint(holdout: pd.DataFrame) -> str:
    """A short digest of which listings a holdout holds (order does not matter)."""
    listings = "\n".join(sorted(holdout[LISTING_ID].astype(str)))
    return hashlib.sha256(listings.encode()).hexdigest()[:20]
