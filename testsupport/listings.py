"""Five cleaned listings small enough to check a feature summary by hand: two in Texas, two in
Ohio, one with no state; one bath missing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PRICES = (300_000.0, 120_000.0, 500_000.0, 999_999.0, 80_000.0)


def five_listings(prices: Sequence[float] = PRICES) -> pd.DataFrame:
    """The listings with `prices` in order (Texas, Ohio, Texas, no state, Ohio)."""
    return pd.DataFrame(
        {
            "bed": [3.0, 2.0, 4.0, 3.0, 1.0],
            "bath": [2.0, 1.0, 3.0, np.nan, 1.0],
            "acre_lot": [0.2, 0.1, 0.5, 0.3, 0.05],
            "house_size": [1800.0, 900.0, 2500.0, 1600.0, 600.0],
            "state": pd.array(["Texas", "Ohio", "Texas", None, "Ohio"], dtype="string"),
            "status": pd.array(["sold"] * 5, dtype="string"),
            "price": list(prices),
        }
    )
