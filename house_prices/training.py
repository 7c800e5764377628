"""Training of the price model: a scikit-learn pipeline of preprocessing and a tree ensemble.

The default is the original deployment's RandomForest (50 trees, depth 10); the family and
its hyper-parameters are configurable. Every family here is a tree ensemble, so SHAP's
TreeExplainer explains it exactly and quickly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import (
    ExtraTreesRegressor,
    HistGradientBoostingRegressor,
    RandomForestRegressor,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from house_prices.features import FEATURES, TARGET, build_preprocessor

__all__ = ["MODEL_FAMILIES", "TrainingConfig", "build_pipeline", "score", "split_holdout"]

MODEL_FAMILIES = {
    "random_forest": (RandomForestRegressor, {"n_estimators": 50, "max_depth": 10}),
    "extra_trees": (ExtraTreesRegressor, {"n_estimators": 50, "max_depth": 12}),
    "hist_gradient_boosting": (HistGradientBoostingRegressor, {"max_depth": 8}),
}


@dataclass(frozen=True)
class TrainingConfig:
    """Which model to fit and how to hold data out for its evaluation."""

    family: str = "random_forest"
    params: dict[str, Any] = field(default_factory=dict)
    holdout_share: float = 0.2
    random_state: int = 42

    def __post_init__(self) -> None:
        if self.family not in MODEL_FAMILIES:
            raise ValueError(
                f"model family {self.family!r} is unknown; choose one of {sorted(MODEL_FAMILIES)}"
            )
        if not 0.05 <= self.holdout_share <= 0.5:
            raise ValueError(f"holdout_share {self.holdout_share} must lie in [0.05, 0.5]")

    def model_params(self) -> dict[str, Any]:
        estimator, defaults = MODEL_FAMILIES[self.family]
        params = {**defaults, **self.params, "random_state": self.random_state}
        if "n_jobs" in estimator().get_params():
            params.setdefault("n_jobs", -1)
        return params


def build_pipeline(config: TrainingConfig) -> Pipeline:
    estimator, _ = MODEL_FAMILIES[config.family]
    return Pipeline(
        [("preprocess", build_preprocessor()), ("model", estimator(**config.model_params()))]
    )


def split_holdout(frame: pd.DataFrame, config: TrainingConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reproducible train/holdout split of the cleaned rows."""
    train, holdout = train_test_split(
        frame, test_size=config.holdout_share, random_state=config.random_state
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def score(model: Any, holdout: pd.DataFrame) -> dict[str, float]:
    """Holdout RMSE, MAE, R² and MAPE (in dollars and percent) of a fitted pipeline."""
    truth = holdout[TARGET].to_numpy(dtype=float)
    predicted = np.asarray(model.predict(holdout[list(FEATURES)]), dtype=float)
    error = predicted - truth
    total = float(((truth - truth.mean()) ** 2).sum())
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": 1.0 - float((error**2).sum()) / total if total else 0.0,
        "mape": float(np.mean(np.abs(error) / truth) * 100.0),
    }
