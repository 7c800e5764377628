"""The model's features, its preprocessing, and the summary of what it was trained on.

Categoricals are ordinal-encoded into one column each, so every SHAP contribution belongs to
exactly one input the user typed (no one-hot columns to add back up).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURES",
    "NUMERIC_FEATURES",
    "STATUSES",
    "TARGET",
    "build_preprocessor",
    "feature_summary",
]

NUMERIC_FEATURES = ("bed", "bath", "acre_lot", "house_size")
CATEGORICAL_FEATURES = ("state", "status")
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES
TARGET = "price"
STATUSES = ("for_sale", "sold", "ready_to_build")


def build_preprocessor():
    """Median-impute numbers; encode categories as integers, unknown and missing as -1."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OrdinalEncoder

    return ColumnTransformer(
        [
            ("numeric", SimpleImputer(strategy="median"), list(NUMERIC_FEATURES)),
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=-1,
                    encoded_missing_value=-1,
                ),
                list(CATEGORICAL_FEATURES),
            ),
        ],
        verbose_feature_names_out=False,
    )


def feature_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """Accepted ranges and categories of each feature, from the training data.

    Numeric ranges span 0 to a generous bound above the 99.9th percentile, so a user can ask
    about a house a bit larger than any seen, but not about a 10-million-bedroom one.
    """
    numeric = {}
    for column in NUMERIC_FEATURES:
        values = frame[column].dropna()
        upper = float(values.quantile(0.999)) * 2 if len(values) else 0.0
        numeric[column] = {
            "min": 0.0,
            "max": round(max(upper, float(values.max()) if len(values) else 0.0), 3),
            "median": round(float(values.median()), 3) if len(values) else None,
            "missing_share": round(float(frame[column].isna().mean()), 4),
        }
    categorical = {
        column: sorted(str(value) for value in frame[column].dropna().unique())
        for column in CATEGORICAL_FEATURES
    }
    price = frame[TARGET]
    # Mean price per state of these rows: the model server's GET /states (original dialect).
    state_prices = price.groupby(frame["state"], dropna=True).mean().round(2)
    return {
        "rows": len(frame),
        "numeric": numeric,
        "categorical": categorical,
        "price": {
            "median": float(price.median()),
            "p05": float(price.quantile(0.05)),
            "p95": float(price.quantile(0.95)),
        },
        "state_prices": {str(state): float(mean) for state, mean in state_prices.items()},
    }
