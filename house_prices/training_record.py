"""What a training run records with its model: params, tags and JSON documents.

A pure function of what was trained on and what came out, so :func:`house_prices.pipeline.train`
only fits, writes and logs, and the record can be checked without MLflow or a store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from house_prices import keys, run_documents
from house_prices.features import feature_summary
from house_prices.identity import holdout_fingerprint
from house_prices.training import TrainingConfig

__all__ = ["TrainingRecord", "training_record"]


@dataclass(frozen=True)
class TrainingRecord:
    """The run's params, the tags of its run and model version, its documents (by file name),
    and where its training rows (the drift reference) and holdout are stored."""

    params: dict[str, Any]
    tags: dict[str, str]
    documents: dict[str, Any]
    reference_key: str
    holdout_key: str


def training_record(
    *,
    group: int,
    day: str,
    clean_keys: list[str],
    fingerprint: str,
    training: TrainingConfig,
    train_rows: pd.DataFrame,
    holdout: pd.DataFrame,
    copies_removed: int,
    drift_report: dict[str, Any],
    cleaning_reports: dict[str, Any],
    importance: dict[str, Any],
) -> TrainingRecord:
    """The record of a model fitted on ``train_rows`` and scored on ``holdout``, from the
    listings of ``clean_keys`` after ``copies_removed`` copies of listings were dropped."""
    listings = len(train_rows) + len(holdout)
    reference_key, holdout_key = keys.reference_key(fingerprint), keys.holdout_key(fingerprint)
    lineage = {
        "group": group,
        "day": day,
        "batch_keys": clean_keys,
        "rows": listings + copies_removed,
        "listing_copies_removed": copies_removed,
        "listings": listings,
        "train_rows": len(train_rows),
        "holdout_rows": len(holdout),
        "holdout_fingerprint": holdout_fingerprint(holdout),
        "reference_key": reference_key,
        "holdout_key": holdout_key,
    }
    params = {
        "family": training.family,
        **training.model_params(),
        "train_rows": len(train_rows),
        "holdout_rows": len(holdout),
        "listing_copies_removed": copies_removed,
        "batches": len(clean_keys),
    }
    tags = {
        "data_fingerprint": fingerprint,
        "reference_key": reference_key,
        "holdout_key": holdout_key,
        "group": str(group),
        "day": day,
        "latest_batch": clean_keys[-1],
    }
    documents = {
        run_documents.LINEAGE: lineage,
        run_documents.DRIFT_REPORT: drift_report,
        run_documents.SHAP_IMPORTANCE: importance,
        run_documents.CLEANING_REPORT: cleaning_reports,
        run_documents.FEATURE_SUMMARY: feature_summary(train_rows),
    }
    return TrainingRecord(params, tags, documents, reference_key, holdout_key)
