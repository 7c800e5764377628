"""Names of the JSON documents logged with every training run, in one place.

Kept free of heavy imports: the web UI reads these documents over MLflow's REST API and
must not import MLflow to know their names.
"""

from __future__ import annotations

__all__ = [
    "CLEANING_REPORT",
    "DRIFT_REPORT",
    "FEATURE_SUMMARY",
    "LINEAGE",
    "RUN_DOCUMENTS",
    "SHAP_IMPORTANCE",
]

#: Batches, listing counts, holdout size and fingerprint, reference and holdout keys.
LINEAGE = "lineage.json"
#: The newest batch compared with the champion's training data when this model was trained.
DRIFT_REPORT = "drift_report.json"
#: Mean |SHAP| per feature on the holdout, in dollars.
SHAP_IMPORTANCE = "shap_importance.json"
#: Rows dropped per cleaning rule, per batch.
CLEANING_REPORT = "cleaning_report.json"
#: Accepted ranges, medians and categories of the features (the model server validates with it).
FEATURE_SUMMARY = "feature_summary.json"

RUN_DOCUMENTS = (LINEAGE, DRIFT_REPORT, SHAP_IMPORTANCE, CLEANING_REPORT, FEATURE_SUMMARY)
