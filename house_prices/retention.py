"""Retention: remove what grows with every run once it is old, never what the champion needs.

The DAG runs every five minutes for as long as the appliance lives. Each growing store gets an
age limit (``RetentionSettings``, from ``HOUSE_PRICES_RETAIN_*_DAYS``):

- stored batches (raw, cleaned, and the cleaning report that marks a batch cleaned) older than
  ``batches_days``, except the batches the champion was trained on (its lineage) and the
  newest batch of each group/day; training references and holdouts of other models;
- drift and run reports older than ``reports_days``;
- prediction log rows older than ``predictions_days``;
- registry versions that were rejected (never promoted) and decided more than
  ``unpromoted_days`` ago: the version is deleted and its run and logged model marked
  deleted; ``mlflow gc`` then removes them and their artifacts (the maintenance DAG runs it
  in the embedded runtime, the ``mlflow-gc`` CronJob in the cluster).

Airflow's metadata and task logs are pruned by ``airflow db clean`` and by removing task log
files older than ``airflow_days`` (``dags/house_price_maintenance.py`` runs all of it daily).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from house_prices import environment, keys
from house_prices.environment import SettingsError
from house_prices.storage import ObjectStore

__all__ = [
    "ENVIRONMENT",
    "RetentionSettings",
    "champion_lineage",
    "protected_keys",
    "prune_airflow_logs",
    "prune_predictions",
    "prune_store",
    "prune_unpromoted_versions",
]

_log = logging.getLogger(__name__)


#: Field name -> (environment variable, meaning), read by ``house_prices.environment``.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "batches_days": ("HOUSE_PRICES_RETAIN_BATCHES_DAYS", "days stored batches are kept"),
    "reports_days": ("HOUSE_PRICES_RETAIN_REPORTS_DAYS", "days drift and run reports are kept"),
    "predictions_days": (
        "HOUSE_PRICES_RETAIN_PREDICTIONS_DAYS",
        "days prediction log rows are kept",
    ),
    "unpromoted_days": (
        "HOUSE_PRICES_RETAIN_UNPROMOTED_DAYS",
        "days a rejected registry version is kept after its decision",
    ),
    "airflow_days": (
        "HOUSE_PRICES_RETAIN_AIRFLOW_DAYS",
        "days Airflow metadata and task logs are kept",
    ),
    "prediction_log_url": (
        "MODEL_SERVER_DATABASE_URL",
        "SQLAlchemy URL of the model server's prediction log (empty: from the state directory)",
    ),
    "model_server_state_dir": (
        "MODEL_SERVER_STATE_DIR",
        "the model server's state directory, holding its SQLite prediction log",
    ),
    "airflow_log_folder": (
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER",
        "Airflow's task log directory (empty: no log files to prune here)",
    ),
    "mlflow_backend_store_uri": (
        "MLFLOW_BACKEND_STORE_URI",
        "MLflow's own database, for `mlflow gc` (empty: not reachable from here)",
    ),
}


@dataclass(frozen=True)
class RetentionSettings:
    """Days each kind of data is kept (0 keeps it for ever), and where the logs are."""

    batches_days: int = 14
    reports_days: int = 14
    predictions_days: int = 30
    unpromoted_days: int = 14
    airflow_days: int = 30
    prediction_log_url: str = ""
    model_server_state_dir: str = ""
    airflow_log_folder: str = ""
    mlflow_backend_store_uri: str = ""

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith("_days") and value < 0:
                raise SettingsError(
                    f"{ENVIRONMENT[field.name][0]}={value}: days cannot be negative "
                    "(0 keeps the data for ever)"
                )

    @property
    def predictions_url(self) -> str:
        """The prediction log's URL where this process can reach it, else ``""``."""
        if self.prediction_log_url or not self.model_server_state_dir:
            return self.prediction_log_url
        return f"sqlite:///{Path(self.model_server_state_dir).resolve()}/predictions.db"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetentionSettings:
        environ = os.environ if environ is None else environ
        return cls(**environment.read(cls, ENVIRONMENT, environ))


def _cutoff(now: datetime, days: int) -> datetime | None:
    return None if days == 0 else now - timedelta(days=days)


def _batch_objects(batch: keys.BatchKey) -> set[str]:
    """A stored batch: raw, cleaned, and the cleaning report that marks it cleaned."""
    clean = keys.clean_key(batch.group, batch.day, batch.batch)
    return {keys.raw_key(batch.group, batch.day, batch.batch), clean, keys.clean_report_key(clean)}


def protected_keys(lineage: Mapping[str, Any] | None) -> set[str]:
    """Object keys the champion needs: its batches (raw, clean, report), reference, holdout."""
    if not lineage:
        return set()
    protected = {lineage.get("reference_key", ""), lineage.get("holdout_key", "")} - {""}
    for clean_key in lineage.get("batch_keys", []):
        protected |= _batch_objects(keys.BatchKey.parse(clean_key))
    return protected


def prune_store(
    store: ObjectStore,
    protected: set[str],
    settings: RetentionSettings,
    now: datetime,
    dry_run: bool = False,
) -> list[str]:
    """Delete expired objects; return their keys. Protected keys are never deleted."""
    expired: list[str] = []
    batch_cutoff = _cutoff(now, settings.batches_days)
    if batch_cutoff is not None:
        expired += _expired_batches(store, protected, batch_cutoff)
        for prefix in (keys.REFERENCES_PREFIX, keys.HOLDOUTS_PREFIX):
            modified = store.list_modified(prefix)
            expired += [k for k, t in modified.items() if t < batch_cutoff and k not in protected]
    report_cutoff = _cutoff(now, settings.reports_days)
    if report_cutoff is not None:
        for key, written in store.list_modified(keys.REPORTS_PREFIX).items():
            # A cleaning report marks its batch cleaned: it goes only with its batch.
            if key.startswith(keys.CLEAN_REPORTS_PREFIX) or key in protected:
                continue
            if written < report_cutoff:
                expired.append(key)
    expired = sorted(set(expired) - protected)
    if not dry_run:
        for key in expired:
            store.delete(key)
    _log.info(
        "object store retention: %d object(s) %s", len(expired), "expired" if dry_run else "deleted"
    )
    return expired


def _expired_batches(store: ObjectStore, protected: set[str], cutoff: datetime) -> list[str]:
    batches = {}
    for key, written in store.list_modified(keys.stage_prefix("raw")).items():
        try:
            batches[keys.BatchKey.parse(key)] = written
        except ValueError:
            continue  # not a batch: not ours to remove
    newest: dict[tuple[int, str], int] = {}
    for batch in batches:
        newest[batch.group, batch.day] = max(newest.get((batch.group, batch.day), -1), batch.batch)
    expired = []
    for batch, written in batches.items():
        if written >= cutoff or batch.batch == newest[batch.group, batch.day]:
            continue
        objects = _batch_objects(batch)
        if not objects & protected:
            expired += [key for key in objects if store.exists(key)]
    return expired


def prune_predictions(database_url: str, settings: RetentionSettings, now: datetime) -> int:
    """Delete prediction log rows older than the limit; return how many."""
    import sqlalchemy as sa

    from model_server.predictions_log import predictions

    cutoff = _cutoff(now, settings.predictions_days)
    if cutoff is None:
        return 0
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            if not sa.inspect(connection).has_table(predictions.name):
                return 0
            result = connection.execute(
                predictions.delete().where(predictions.c.created_at < cutoff)
            )
    finally:
        engine.dispose()
    _log.info("prediction log retention: %d row(s) deleted", result.rowcount)
    return result.rowcount


_LOGGED_MODEL_PREFIX = "models:/"


def prune_unpromoted_versions(
    client, model_name: str, settings: RetentionSettings, now: datetime, dry_run: bool = False
) -> list[str]:
    """Delete rejected versions decided before the limit and mark their runs deleted.

    A version that was ever promoted carries decision=promoted for good, so only versions that
    never served are candidates; the champion is checked once more regardless.
    """
    from house_prices import registry

    cutoff = _cutoff(now, settings.unpromoted_days)
    if cutoff is None:
        return []
    champion = registry.champion_version(client, model_name)
    removed = []
    for row in registry.list_decisions(client, model_name):
        if row["decision"] != "rejected" or not row["decided_at"]:
            continue
        if champion is not None and row["version"] == champion.version:
            continue
        if datetime.fromisoformat(row["decided_at"]) >= cutoff:
            continue
        removed.append(row["version"])
        if not dry_run:
            source = client.get_model_version(model_name, row["version"]).source
            client.delete_model_version(model_name, row["version"])
            client.delete_run(row["run_id"])
            # MLflow 3 keeps the model files under the logged model, not the run.
            if source.startswith(_LOGGED_MODEL_PREFIX):
                client.delete_logged_model(source.removeprefix(_LOGGED_MODEL_PREFIX))
    _log.info("registry retention: rejected version(s) %s removed", removed or "none")
    return removed


def prune_airflow_logs(
    log_folder: Path, settings: RetentionSettings, now: datetime, dry_run: bool = False
) -> list[Path]:
    """Delete task log files older than the limit (and directories left empty)."""
    cutoff = _cutoff(now, settings.airflow_days)
    if cutoff is None or not log_folder.is_dir():
        return []
    limit = cutoff.timestamp()
    removed = [p for p in log_folder.rglob("*") if p.is_file() and p.stat().st_mtime < limit]
    if not dry_run:
        for path in removed:
            path.unlink()
        for directory in sorted(log_folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
    return removed


def champion_lineage(client, model_name: str) -> dict[str, Any] | None:
    """The champion's lineage document, or None when there is no champion yet."""
    from house_prices import registry, run_documents

    champion = registry.champion_version(client, model_name)
    if champion is None:
        return None
    return registry.read_document(client, champion.run_id, run_documents.LINEAGE)
