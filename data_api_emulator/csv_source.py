"""Serve a user-supplied CSV in the realtor.com listing layout instead of generated data.

The file is read once. For each (group, day) its rows are shuffled with a permutation seeded
by ``(seed, group, day)`` and cut into ``batches_per_day`` equal parts; batch ``b`` is part
``b`` (capped at ``rows_per_batch`` rows). Values are served as the file has them: no drift,
no added dirt, zip codes kept as text so leading zeros survive. (The app then makes later
batches re-serve some rows of earlier ones, as for generated data: ``repeats``.)

The older public export has ten columns, without ``brokered_by`` and ``street``. Such a file
is accepted with a warning: those two columns are served as ``null`` (the record layout stays
the same), and a client identifying listings by address then falls back to keys without
broker and street. Every other column is required.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from data_api_emulator.config import ConfigError
from data_api_emulator.generator import COLUMNS

__all__ = ["OPTIONAL_COLUMNS", "CsvLayoutError", "CsvSource", "load_listing_csv"]

_logger = logging.getLogger(__name__)
_SALT_CSV = 7_003
_TEXT_COLUMNS = ("status", "city", "state", "zip_code", "prev_sold_date")
#: Columns the older ten-column public export lacks: served as null when absent.
OPTIONAL_COLUMNS = ("brokered_by", "street")


class CsvLayoutError(ConfigError):
    """The CSV cannot be served: unreadable, empty, or not in the realtor.com layout."""


def load_listing_csv(path: str | Path) -> pd.DataFrame:
    """Read a realtor.com-layout CSV, keeping exactly the columns of ``COLUMNS`` in order.

    ``OPTIONAL_COLUMNS`` missing from the file are added, all null, with a warning.

    Raises:
        CsvLayoutError: the file is unreadable, empty, or misses a required column.
    """
    path = Path(path)
    expected = ", ".join(COLUMNS)
    try:
        header = pd.read_csv(path, nrows=0)
    except FileNotFoundError:
        raise CsvLayoutError(f"CSV file {str(path)!r} does not exist") from None
    except pd.errors.EmptyDataError:
        raise CsvLayoutError(
            f"CSV file {str(path)!r} is empty: it needs a header line ({expected}) and rows"
        ) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CsvLayoutError(f"CSV file {str(path)!r} cannot be read: {exc}") from None
    found = [str(c).strip() for c in header.columns]
    absent = [c for c in COLUMNS if c not in found]
    missing = [c for c in absent if c not in OPTIONAL_COLUMNS]
    if missing:
        raise CsvLayoutError(
            f"CSV file {str(path)!r} is not in the realtor.com listing layout: missing "
            f"column(s) {', '.join(missing)}. Expected a header with: {expected} "
            f"({' and '.join(OPTIONAL_COLUMNS)} may be left out). "
            f"Found: {', '.join(found) or '(nothing)'}"
        )
    extra = [c for c in found if c not in COLUMNS]
    if extra:
        _logger.warning("ignoring extra CSV column(s) %s in %s", ", ".join(extra), path)
    if absent:
        _logger.warning(
            "CSV file %s has no column(s) %s (as the older ten-column export): serving them as "
            "null, so listing identity falls back to keys without broker and street",
            path,
            ", ".join(absent),
        )
    try:
        frame = pd.read_csv(
            path,
            dtype={c: object for c in _TEXT_COLUMNS},
            low_memory=False,
            skipinitialspace=True,
        )
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise CsvLayoutError(f"CSV file {str(path)!r} cannot be parsed: {exc}") from None
    frame.columns = found
    if frame.empty:
        raise CsvLayoutError(f"CSV file {str(path)!r} has a header but no rows")
    for name in absent:
        frame[name] = None
    frame = frame.loc[:, list(COLUMNS)]
    # Missing text values become NaN; keep them as NaN (served as null), never the text "nan".
    return frame.reset_index(drop=True)


class CsvSource:
    """Deterministic batches cut from a listing CSV.

    Args:
        path: the CSV file.
        seed: base seed of the per-(group, day) shuffles.
        batches_per_day: parts each (group, day) shuffle is cut into.
        rows_per_batch: upper bound on the rows of one batch.
    """

    def __init__(
        self, path: str | Path, *, seed: int, batches_per_day: int, rows_per_batch: int
    ) -> None:
        self._frame = load_listing_csv(path)
        n = len(self._frame)
        if n < batches_per_day:
            raise CsvLayoutError(
                f"CSV file {str(path)!r} has {n} row(s), fewer than batches_per_day "
                f"({batches_per_day}): every batch needs at least one row"
            )
        self._seed = seed
        self._batches = batches_per_day
        self._part = n // batches_per_day
        self.rows_per_batch = min(rows_per_batch, self._part)
        self.total_rows = n
        self._permutation = functools.lru_cache(maxsize=4)(self._make_permutation)

    def _make_permutation(self, group: int, day: int) -> np.ndarray:
        seq = np.random.SeedSequence([self._seed, group, day, _SALT_CSV])
        return np.random.default_rng(seq).permutation(self.total_rows)

    def batch(self, group: int, day: int, batch: int) -> pd.DataFrame:
        """Rows of batch ``batch`` (1-based) of ``(group, day)``."""
        if not 1 <= batch <= self._batches:
            raise ValueError(f"batch must be between 1 and {self._batches}, got {batch}")
        start = (batch - 1) * self._part
        rows = self._permutation(group, day)[start : start + self.rows_per_batch]
        return self._frame.iloc[rows].reset_index(drop=True)
