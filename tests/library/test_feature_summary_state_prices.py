"""feature_summary's per-state mean price (read by the model server's GET /states)."""

import json

from house_prices.features import feature_summary
from testsupport.listings import five_listings


def test_state_prices_are_the_mean_price_of_each_state_and_skip_missing_states():
    # Ohio's mean, 100_000.0025, is stored to the cent.
    prices = (300_000.0, 120_000.0, 500_000.0, 999_999.0, 80_000.005)
    summary = feature_summary(five_listings(prices))
    assert summary["state_prices"] == {"Ohio": 100_000.0, "Texas": 400_000.0}
    json.dumps(summary)  # stored as feature_summary.json: plain JSON types only
