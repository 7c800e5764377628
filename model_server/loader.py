"""Loading one registered version into an immutable :class:`LoadedModel` snapshot.

Which snapshot is served, the cache of older ones and the poller live in
:mod:`model_server.holder`.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from house_prices import mlflow_rest, run_documents
from house_prices.features import NUMERIC_FEATURES, STATUSES
from house_prices.listing_contract import ListingContract
from house_prices.registry_types import CHAMPION_ALIAS
from model_server.scoring import FastExplainer, Scorer

__all__ = ["LoadedModel", "ReloadError", "load_version", "release_memory"]

_log = logging.getLogger(__name__)


def release_memory() -> None:
    """Hand the temporaries of a model load back to the OS (glibc keeps them otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class ReloadError(RuntimeError):
    """The champion could not be loaded; the previous model (if any) keeps serving."""


@dataclass(frozen=True)
class LoadedModel:
    """One registered version, ready to score and explain. Never mutated after creation."""

    name: str
    version: str
    run_id: str
    scorer: Scorer
    explainer: FastExplainer
    metrics: dict[str, float]
    training: dict[str, Any]
    #: What a listing may hold, from the run's feature summary (validation and OpenAPI).
    contract: ListingContract
    importance: dict[str, float]
    #: Mean training price per state (empty for versions trained before it was recorded).
    state_prices: dict[str, float] = field(default_factory=dict)
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def features(self) -> dict[str, Any]:
        """The contract as ``GET /model`` reports it (ranges, medians, states, statuses)."""
        return self.contract.describe()

    @property
    def ref(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version}

    def describe(self) -> dict[str, Any]:
        return {
            **self.ref,
            "alias": CHAMPION_ALIAS,
            "run_id": self.run_id,
            "metrics": self.metrics,
            "training": self.training,
            "features": self.features,
            "importance": self.importance,
            "loaded_at": self.loaded_at,
        }


def served_contract(summary: dict, run_id: str) -> ListingContract:
    """The listing contract of a version; a summary without a feature's range is refused, since
    validation would then accept any number for it."""
    missing = [
        name
        for name in NUMERIC_FEATURES
        if any(summary.get("numeric", {}).get(name, {}).get(key) is None for key in ("min", "max"))
    ]
    if missing:
        raise ValueError(
            f"{run_documents.FEATURE_SUMMARY} of run {run_id} gives no range for {missing}: "
            "train the model again with this version of the pipeline"
        )
    return ListingContract.from_summary(summary)


def _probes(features: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows covering medians, bounds, missing values and every category (plus an unknown one)."""
    numeric = features["numeric"]
    states = [*features["categorical"]["state"], "Atlantis"]
    rows = []
    for index, state in enumerate(states):
        for status in STATUSES:
            row: dict[str, Any] = {"state": state, "status": status}
            for offset, name in enumerate(NUMERIC_FEATURES):
                bounds = numeric[name]
                choice = (index + offset) % 4
                row[name] = [bounds["median"], bounds["min"], bounds["max"], None][choice]
            rows.append(row)
    rows.append(dict.fromkeys((*NUMERIC_FEATURES, "state", "status")))
    return rows


#: The run documents a served version needs.
SERVED_DOCUMENTS = (
    run_documents.LINEAGE,
    run_documents.FEATURE_SUMMARY,
    run_documents.SHAP_IMPORTANCE,
)


def load_version(reader: mlflow_rest.MlflowRest, name: str, version: str) -> LoadedModel:
    """Load ``models:/name/version`` with its run's metrics and documents (over REST: the
    workers never import mlflow)."""
    bundle = mlflow_rest.load_bundle(reader, name, version, SERVED_DOCUMENTS)
    pipeline, model_version = bundle.pipeline, bundle.version
    lineage = bundle.documents[run_documents.LINEAGE]
    summary = bundle.documents[run_documents.FEATURE_SUMMARY]
    contract = served_contract(summary, model_version.run_id)
    scorer = Scorer(pipeline)
    probes = _probes(contract.describe())
    scorer.verify(probes)
    explainer = FastExplainer(scorer, pipeline)
    explainer.verify(probes)
    return LoadedModel(
        name=name,
        version=str(version),
        run_id=model_version.run_id,
        scorer=scorer,
        explainer=explainer,
        metrics=bundle.metrics,
        training={
            "batch_keys": lineage.get("batch_keys", []),
            "rows": lineage.get("rows", summary.get("rows")),
            "train_rows": lineage.get("train_rows"),
            "holdout_rows": lineage.get("holdout_rows"),
            "holdout_fingerprint": lineage.get("holdout_fingerprint"),
            "listing_copies_removed": lineage.get("listing_copies_removed"),
            "group": lineage.get("group"),
            "day": lineage.get("day"),
        },
        contract=contract,
        importance={
            key: float(value)
            for key, value in bundle.documents[run_documents.SHAP_IMPORTANCE].items()
        },
        state_prices={
            str(state): float(price) for state, price in summary.get("state_prices", {}).items()
        },
    )
