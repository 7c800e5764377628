"""One small JSON record per finished pipeline task, written to the object store.

The pipeline runs as short-lived Airflow tasks (pods in the cluster): nothing of a task lives
long enough to be scraped. So each task leaves a record (state, start, end, duration and, for
``ingest``, whether a new batch was stored) next to the pipeline's other reports, and
:mod:`house_prices.pipeline_metrics` turns the records into Prometheus metrics when scraped.
The DAG installs :func:`on_task_success` and :func:`on_task_failure` as task callbacks.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from house_prices import keys

__all__ = ["on_task_failure", "on_task_success", "task_record"]

_log = logging.getLogger(__name__)


def _timestamp(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    return None


def task_record(
    run_id: str, task_id: str, state: str, started: float | None, ended: float, result: Any
) -> dict[str, Any]:
    """The record of one finished task; ``result`` is the task's return value (or None)."""
    record: dict[str, Any] = {
        "run_id": run_id,
        "task_id": task_id,
        "state": state,
        "started": started,
        "ended": ended,
        "duration_seconds": round(ended - started, 3) if started is not None else None,
    }
    if task_id == "ingest" and isinstance(result, dict):
        record["new_batch"] = bool(result.get("written"))
        record["rows"] = int(result.get("rows") or 0)
    return record


def _write(context: dict, state: str) -> None:
    from house_prices.settings import Settings
    from house_prices.storage import open_store, write_json

    ti = context["ti"]
    run_id = str(context.get("run_id") or ti.run_id)
    result = None
    if state == "success" and ti.task_id == "ingest":
        try:
            result = ti.xcom_pull(task_ids=ti.task_id)
        except Exception as exc:  # a record without the flag beats none
            _log.warning("could not read the ingest result for the run record: %s", exc)
    record = task_record(
        run_id, ti.task_id, state, _timestamp(getattr(ti, "start_date", None)), time.time(), result
    )
    write_json(open_store(Settings.from_env()), keys.run_record_key(run_id, ti.task_id), record)


def _safely(context: dict, state: str) -> None:
    # A monitoring record must never turn a good task into a failed one.
    try:
        _write(context, state)
    except Exception as exc:
        _log.warning("could not write the pipeline run record: %s", exc)


def on_task_success(context: dict) -> None:
    _safely(context, "success")


def on_task_failure(context: dict) -> None:
    _safely(context, "failed")
