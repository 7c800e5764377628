"""Training of the price model: a scikit-learn pipeline of preprocessing and a tree ensemble.

The default is the original deployment's RandomForest (50 trees, depth 10); the family and
its hyper-parameters are configurable. Every family here is a tree ensemble, so SHAP's
TreeExplainer explains it exactly and quickly.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from house_prices.features import FEATURES, TARGET, build_preprocessor
from house_prices.identity import LISTING_ID, in_holdout

__all__ = [
    "MODEL_FAMILIES",
    "Challenger",
    "TrainingConfig",
    "build_pipeline",
    "fit_challenger",
    "score",
    "split_holdout",
    "training_rows",
]

#: Family name -> (scikit-learn estimator, default hyper-parameters). Classes are imported
#: only when a model is built: importing sklearn.ensemble costs seconds per Airflow task.
MODEL_FAMILIES = {
    "random_forest": (
        "sklearn.ensemble.RandomForestRegressor",
        {"n_estimators": 50, "max_depth": 10},
    ),
    "extra_trees": ("sklearn.ensemble.ExtraTreesRegressor", {"n_estimators": 50, "max_depth": 12}),
    "hist_gradient_boosting": ("sklearn.ensemble.HistGradientBoostingRegressor", {"max_depth": 8}),
}


_MIN_HOLDOUT_ROWS = 10


def _estimator_class(family: str) -> type:
    module, _, name = MODEL_FAMILIES[family][0].rpartition(".")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class TrainingConfig:
    """Which model to fit and how to hold data out for its evaluation.

    ``holdout_share`` is the share of *listings* (not rows) held out; ``random_state`` seeds
    the model only: the holdout is a function of the listings' identities.
    """

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
        defaults = MODEL_FAMILIES[self.family][1]
        params = {**defaults, **self.params, "random_state": self.random_state}
        if "n_jobs" in _estimator_class(self.family)().get_params():
            params.setdefault("n_jobs", -1)
        return params


def build_pipeline(config: TrainingConfig):
    """An unfitted ``Pipeline([("preprocess", ...), ("model", ...)])``."""
    from sklearn.pipeline import Pipeline

    estimator = _estimator_class(config.family)
    return Pipeline(
        [("preprocess", build_preprocessor()), ("model", estimator(**config.model_params()))]
    )


def training_rows(batches: list[pd.DataFrame]) -> tuple[pd.DataFrame, int]:
    """One row per listing from cleaned batches given oldest first: each listing's newest row.

    Returns the rows and how many copies of listings seen in another row were removed.
    """
    union = pd.concat(batches, ignore_index=True)
    if LISTING_ID not in union:
        raise ValueError(f"cleaned batches lack the {LISTING_ID!r} column: clean them again")
    rows = union.drop_duplicates(subset=[LISTING_ID], keep="last")
    return rows.reset_index(drop=True), len(union) - len(rows)


def split_holdout(rows: pd.DataFrame, config: TrainingConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and holdout rows; a listing is held out for every model version or for none."""
    in_holdout_mask = in_holdout(rows[LISTING_ID], config.holdout_share)
    train, holdout = rows[~in_holdout_mask], rows[in_holdout_mask]
    if len(holdout) < _MIN_HOLDOUT_ROWS or len(train) < _MIN_HOLDOUT_ROWS:
        raise ValueError(
            f"{len(rows)} listings give {len(train)} training and {len(holdout)} holdout rows; "
            f"each needs at least {_MIN_HOLDOUT_ROWS}: ingest more batches first"
        )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


@dataclass(frozen=True)
class Challenger:
    """A fitted pipeline, the rows it was fitted on, and its scores on rows it never saw."""

    pipeline: Any
    train_rows: pd.DataFrame
    holdout: pd.DataFrame
    metrics: dict[str, float]


def fit_challenger(rows: pd.DataFrame, config: TrainingConfig) -> Challenger:
    """Split ``rows`` (one per listing) by identity, fit on the training part, score the rest."""
    train_rows, holdout = split_holdout(rows, config)
    pipeline = build_pipeline(config)
    pipeline.fit(train_rows[list(FEATURES)], train_rows[TARGET])
    return Challenger(pipeline, train_rows, holdout, score(pipeline, holdout))


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
