"""feature_summary's per-state mean price (read by the model server's GET /states)."""

import json

import numpy as np
import pandas as pd

from house_prices.features import feature_summary


def test_state_prices_are_the_mean_price_of_each_state_and_skip_missing_states():
    frame = pd.DataFrame(
        {
            "bed": [3.0, 2.0, 4.0, 3.0, 1.0],
            "bath": [2.0, 1.0, 3.0, np.nan, 1.0],
            "acre_lot": [0.2, 0.1, 0.5, 0.3, 0.05],
            "house_size": [1800.0, 900.0, 2500.0, 1600.0, 600.0],
            "state": pd.array(["Texas", "Ohio", "Texas", None, "Ohio"], dtype="string"),
            "status": pd.array(["sold"] * 5, dtype="string"),
            "price": [300_000.0, 120_000.0, 500_000.0, 999_999.0, 80_000.005],
        }
    )
    summary = feature_summary(frame)
    assert summary["state_prices"] == {"Ohio": 100_000.0, "Texas": 400_000.0}
    json.dumps(summary)  # stored as feature_summary.json: plain JSON types only
