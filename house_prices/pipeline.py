"""The pipeline's steps as plain functions over object keys.

Each step opens its own store and MLflow client from :class:`Settings` and returns a small
JSON-ready dict, so Airflow tasks (separate processes, or pods in the cluster) pass keys
through XCom and never local paths. :func:`run_once` chains the same steps in one process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field

import pandas as pd
import requests

from house_prices import keys
from house_prices.cleaning import CleaningRules, clean
from house_prices.drift import DriftThresholds
from house_prices.identity import LISTING_ID, holdout_fingerprint, shared_listings
from house_prices.ingest import DataApiClient, DataApiError, ingest_batch
from house_prices.promotion import HoldoutCheck
from house_prices.settings import Settings
from house_prices.storage import open_store, read_json, read_parquet, write_json, write_parquet
from house_prices.training import TrainingConfig

# MLflow, shap and scikit-learn's ensembles take seconds to import: each step imports what it
# uses, so that an Airflow task (a fresh process) pays only for its own step.

__all__ = [
    "PipelineConfig",
    "check_drift",
    "clean_batches",
    "decide_training",
    "ingest",
    "notify_model_server",
    "promote",
    "run_once",
    "train",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineConfig:
    """Rules and thresholds of every step; the defaults are documented in the README."""

    cleaning: CleaningRules = field(default_factory=CleaningRules)
    drift: DriftThresholds = field(default_factory=DriftThresholds)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    promotion_margin: float = 0.01
    importance_sample: int = 500

    @classmethod
    def from_settings(cls, settings: Settings) -> PipelineConfig:
        """The defaults, with what the runtime's settings choose (the model family)."""
        return cls(training=TrainingConfig(family=settings.model_family))


def ingest(settings: Settings, group: int, day: str) -> dict:
    """Fetch the current batch into the store; return it and the newest stored raw batch."""
    store = open_store(settings)
    client = DataApiClient(
        settings.data_api_url, timeout=settings.data_api_timeout, retries=settings.data_api_retries
    )
    result = ingest_batch(client, store, group, day)
    stored = [k for k in store.list(keys.batch_prefix("raw", group, day)) if k.endswith(".parquet")]
    if not stored:
        raise DataApiError(
            f"the data API has no batch left for group {group}/{day} and none is stored: "
            "restart its data generation (GET /restart_data_generation) or pick another day"
        )
    return {**result.as_dict(), "raw_keys": stored}


def clean_batches(
    settings: Settings, raw_keys: list[str], config: PipelineConfig | None = None
) -> dict:
    """Clean every raw batch that has no cleaned copy yet; return all cleaned keys in order.

    A batch that fails the schema or the cleaning raises before anything of it is written.
    """
    config = config or PipelineConfig.from_settings(settings)
    store = open_store(settings)
    clean_keys, reports = [], {}
    for raw_key in raw_keys:
        clean_key = keys.clean_key_of(raw_key)
        report_key = keys.clean_report_key(clean_key)
        report = read_json(store, report_key) if store.exists(report_key) else {}
        # No report: never cleaned, or cut short (the report is written last). A report without
        # identity counts: cleaned before rows had a listing identity. Either way, clean now.
        if "identity_by_address" not in report:
            result = clean(read_parquet(store, raw_key), config.cleaning, where=raw_key)
            write_parquet(store, clean_key, result.frame)
            write_json(store, report_key, result.report)
            report = result.report
            _log.info("cleaned %s: %s", raw_key, report)
        reports[clean_key] = report
        clean_keys.append(clean_key)
    return {"clean_keys": clean_keys, "latest_clean_key": clean_keys[-1], "reports": reports}


def _fingerprint(clean_keys: list[str], config: PipelineConfig) -> str:
    document = {"keys": sorted(clean_keys), "config": asdict(config)}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:20]


def check_drift(
    settings: Settings, latest_clean_key: str, config: PipelineConfig | None = None
) -> dict:
    """Compare the newest cleaned batch with the champion's training data; store the report."""
    from house_prices import registry
    from house_prices.drift import detect_drift

    config = config or PipelineConfig.from_settings(settings)
    store = open_store(settings)
    client = registry.connect(settings.mlflow_tracking_uri)
    champion = registry.champion_version(client, settings.model_name)
    current = read_parquet(store, latest_clean_key)
    if champion is None:
        report = {
            "dataset_drift": None,
            "drifted_features": [],
            "champion_version": None,
            "note": "no champion yet: nothing to compare with",
        }
    else:
        reference = read_parquet(store, champion.tags["reference_key"])
        report = {
            **detect_drift(reference, current, config.drift),
            "champion_version": champion.version,
        }
    report["batch_key"] = latest_clean_key
    report_key = keys.drift_report_key(latest_clean_key, champion.version if champion else None)
    write_json(store, report_key, report)
    return {
        "report_key": report_key,
        "dataset_drift": report["dataset_drift"],
        "drifted_features": report["drifted_features"],
        "champion_version": report["champion_version"],
    }


def decide_training(
    settings: Settings, clean_keys: list[str], drift: dict, config: PipelineConfig | None = None
) -> dict:
    """Train when there is no champion or the data drifted; otherwise say why not."""
    from house_prices import registry

    config = config or PipelineConfig.from_settings(settings)
    fingerprint = _fingerprint(clean_keys, config)
    client = registry.connect(settings.mlflow_tracking_uri)
    champion = registry.champion_version(client, settings.model_name)
    if champion is None:
        return {"train": True, "reason": "no champion yet", "fingerprint": fingerprint}
    if champion.tags.get("data_fingerprint") == fingerprint:
        return {
            "train": False,
            "fingerprint": fingerprint,
            "reason": f"champion v{champion.version} was trained on exactly these batches",
        }
    if drift["dataset_drift"]:
        features = ", ".join(drift["drifted_features"])
        return {
            "train": True,
            "fingerprint": fingerprint,
            "reason": f"drift against champion v{champion.version}'s data in: {features}",
        }
    return {
        "train": False,
        "fingerprint": fingerprint,
        "reason": f"no drift against the data champion v{champion.version} was trained on",
    }


def train(
    settings: Settings,
    group: int,
    day: str,
    clean_keys: list[str],
    drift_report_key: str,
    config: PipelineConfig | None = None,
) -> dict:
    """Fit a challenger on every cleaned batch, log it to MLflow and register a version.

    Training on data already trained on returns that version instead of a duplicate.
    """
    from house_prices import registry
    from house_prices.explain import PipelineExplainer
    from house_prices.training import fit_challenger, training_rows
    from house_prices.training_record import training_record

    config = config or PipelineConfig.from_settings(settings)
    fingerprint = _fingerprint(clean_keys, config)
    client = registry.connect(settings.mlflow_tracking_uri)
    existing = registry.find_version_by_fingerprint(client, settings.model_name, fingerprint)
    if existing is not None:
        _log.info(
            "version %s already trained on these batches: not training again", existing.version
        )
        return {"version": existing.version, "run_id": existing.run_id, "trained": False}
    store = open_store(settings)
    rows, copies_removed = training_rows([read_parquet(store, key) for key in clean_keys])
    challenger = fit_challenger(rows, config.training)
    record = training_record(
        group=group,
        day=day,
        clean_keys=clean_keys,
        fingerprint=fingerprint,
        training=config.training,
        train_rows=challenger.train_rows,
        holdout=challenger.holdout,
        copies_removed=copies_removed,
        drift_report=read_json(store, drift_report_key),
        cleaning_reports={key: read_json(store, keys.clean_report_key(key)) for key in clean_keys},
        importance=PipelineExplainer(challenger.pipeline).global_importance(
            challenger.holdout, sample=config.importance_sample
        ),
    )
    write_parquet(store, record.reference_key, challenger.train_rows)
    write_parquet(store, record.holdout_key, challenger.holdout)
    model = registry.log_and_register(
        client,
        challenger.pipeline,
        name=settings.model_name,
        experiment=settings.mlflow_experiment,
        train=challenger.train_rows,
        params=record.params,
        metrics=challenger.metrics,
        tags=record.tags,
        documents=record.documents,
    )
    _log.info(
        "trained v%s on %d listings (%d copies of listings removed), holdout %d",
        model.version,
        len(rows),
        copies_removed,
        len(challenger.holdout),
    )
    return {
        "version": model.version,
        "run_id": model.run_id,
        "trained": True,
        "metrics": challenger.metrics,
        "listing_copies_removed": copies_removed,
    }


def promote(settings: Settings, version: str, config: PipelineConfig | None = None) -> dict:
    """Score challenger and champion on the challenger's holdout; move the alias if better.

    The holdout's listings are checked against both models' training rows first: the stable
    holdout keeps them apart by construction, and a decision on rows either had seen is refused.
    """
    from house_prices import registry
    from house_prices.promotion import decide_promotion
    from house_prices.training import score

    config = config or PipelineConfig.from_settings(settings)
    client = registry.connect(settings.mlflow_tracking_uri)
    challenger = registry.find_version_by_number(client, settings.model_name, version)
    if "decision" in challenger.tags:
        return {
            "version": version,
            "promote": challenger.tags["decision"] == "promoted",
            "reason": f"already decided: {challenger.tags.get('decision_reason', '')}",
        }
    store = open_store(settings)
    holdout = read_parquet(store, challenger.tags["holdout_key"])
    champion = registry.champion_version(client, settings.model_name)
    check = _holdout_check(store, holdout, challenger, champion)
    challenger_metrics = score(registry.load_model(client, challenger), holdout)
    champion_metrics = score(registry.load_model(client, champion), holdout) if champion else None
    decision = decide_promotion(
        challenger_metrics,
        champion_metrics,
        margin=config.promotion_margin,
        holdout=check,
        champion_version=champion.version if champion else None,
    )
    registry.record_decision(client, challenger, decision)
    return {"version": version, **decision}


def _holdout_check(store, holdout: pd.DataFrame, challenger, champion) -> HoldoutCheck:
    """How many holdout listings either model was trained on (its reference rows)."""
    overlap, unknown = 0, []
    for model in (challenger, champion) if champion else (challenger,):
        trained_on = read_parquet(store, model.tags["reference_key"])
        if LISTING_ID in trained_on and LISTING_ID in holdout:
            overlap += shared_listings(holdout, trained_on)
        else:
            unknown.append(f"v{model.version} was trained before listings had identities")
    fingerprint = holdout_fingerprint(holdout) if LISTING_ID in holdout else ""
    if unknown:
        return HoldoutCheck(len(holdout), fingerprint, None, "; ".join(unknown))
    return HoldoutCheck(len(holdout), fingerprint, overlap)


def notify_model_server(settings: Settings) -> str:
    """Ask the model server to load the champion now; it also polls, so failure only warns."""
    if not settings.model_server_url:
        return "no model server configured"
    url = f"{settings.model_server_url.rstrip('/')}/reload"
    headers = {"Authorization": f"Bearer {settings.model_server_reload_token}"}
    if settings.model_server_api_key:
        headers["X-API-Key"] = settings.model_server_api_key
    try:
        # The appliance CA when set (PLATFORM_CA_FILE); never for the data API (see ingest).
        verify = settings.platform_ca_file or True
        response = requests.post(url, headers=headers, timeout=60, verify=verify)
    except requests.RequestException as exc:
        _log.warning(
            "model server %s unreachable (%s): it will notice the alias by polling", url, exc
        )
        return f"model server unreachable: {exc}"
    return f"model server answered {response.status_code}: {response.text[:200]}"


def run_once(
    settings: Settings, group: int, day: str, config: PipelineConfig | None = None
) -> dict:
    """All steps in one process (the plain-script runner); returns results and step timings."""
    config = config or PipelineConfig.from_settings(settings)
    timings: dict[str, float] = {}

    def timed(name, func, *args):
        start = time.perf_counter()
        result = func(*args)
        timings[name] = round(time.perf_counter() - start, 3)
        return result

    ingested = timed("ingest", ingest, settings, group, day)
    cleaned = timed("clean", clean_batches, settings, ingested["raw_keys"], config)
    drift = timed("check_drift", check_drift, settings, cleaned["latest_clean_key"], config)
    decision = timed("decide", decide_training, settings, cleaned["clean_keys"], drift, config)
    summary = {"ingest": ingested, "drift": drift, "decision": decision, "timings": timings}
    if decision["train"]:
        trained = timed(
            "train", train, settings, group, day, cleaned["clean_keys"], drift["report_key"], config
        )
        promoted = timed("promote", promote, settings, trained["version"], config)
        summary.update(train=trained, promotion=promoted)
        if promoted["promote"]:
            summary["notify"] = timed("notify", notify_model_server, settings)
    return summary
