"""The pipeline's own figures as Prometheus metrics, read from what the pipeline stored.

The pipeline's tasks are short-lived, so nothing is pushed: at scrape time this collector reads
the durable records every run leaves (cleaning and drift reports and task run records in the
object store, versions, metrics and decisions in MLflow) and reports them as gauges. The figures
therefore survive restarts and agree with the Models page and ``house-prices decisions``.
A source that cannot be read is reported as ``house_prices_pipeline_source_up{source} 0``
instead of failing the scrape.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from house_prices import keys
from house_prices.settings import Settings

__all__ = ["PipelineCollector", "metrics_from_records"]

_log = logging.getLogger(__name__)

#: keys of a cleaning report that are not rules
_NOT_RULES = {"rows_in", "rows_out", "identity_by_address", "identity_by_description"}
HOLDOUT_METRICS = ("rmse", "mae", "r2", "mape")


def _batch_key(key: str) -> keys.BatchKey | None:
    try:
        return keys.BatchKey.parse(key)
    except ValueError:
        return None


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels or [])


def _store_metrics(store) -> list[GaugeMetricFamily]:
    from house_prices.storage import read_json

    batches = _gauge("house_prices_batches_stored", "Raw batches stored", ["group", "day"])
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for key in store.list(keys.stage_prefix("raw")):
        if batch := _batch_key(key):
            counts[(str(batch.group), batch.day)] += 1
    for labels, count in sorted(counts.items()):
        batches.add_metric(list(labels), count)

    ingested = _gauge(
        "house_prices_rows_ingested", "Rows in the stored raw batches", ["group", "day"]
    )
    kept = _gauge("house_prices_rows_clean", "Rows left after cleaning", ["group", "day"])
    dropped = _gauge(
        "house_prices_rows_dropped", "Rows dropped (or values blanked) per cleaning rule",
        ["group", "day", "rule"],
    )  # fmt: skip
    totals: dict[tuple[str, ...], float] = defaultdict(float)
    for key in store.list(keys.CLEAN_REPORTS_PREFIX):
        if not (batch := keys.batch_of_clean_report(key)):
            continue
        report = read_json(store, key)
        where = (str(batch.group), batch.day)
        totals[("in", *where)] += report.get("rows_in", 0)
        totals[("out", *where)] += report.get("rows_out", 0)
        for rule, count in report.items():
            if rule not in _NOT_RULES and isinstance(count, int | float):
                totals[("rule", *where, rule)] += count
    for (kind, *labels), value in sorted(totals.items()):
        {"in": ingested, "out": kept, "rule": dropped}[kind].add_metric(labels, value)

    return [batches, ingested, kept, dropped, *_drift_metrics(store), *_run_metrics(store)]


def _drift_metrics(store) -> list[GaugeMetricFamily]:
    """Per-feature statistics of the newest drift report (highest batch number)."""
    from house_prices.storage import read_json

    statistic = _gauge(
        "house_prices_drift_statistic",
        "Drift effect size per feature of the newest batch (KS statistic or JS distance)",
        ["feature", "test"],
    )
    p_value = _gauge("house_prices_drift_p_value", "Drift test p-value per feature", ["feature"])
    drifted = _gauge("house_prices_drift_detected", "1 when the feature drifted", ["feature"])
    count = _gauge("house_prices_drifted_features", "Features that drifted in the newest batch")
    dataset = _gauge("house_prices_dataset_drift", "1 when the newest batch drifted as a whole")
    reports = [
        (parsed.batch.batch, key)
        for key in store.list(keys.DRIFT_REPORTS_PREFIX)
        if (parsed := keys.DriftReportKey.parse(key)) and parsed.champion_version is not None
    ]
    if reports:
        report = read_json(store, max(reports)[1])
        for feature, result in sorted(report.get("features", {}).items()):
            if "statistic" in result:
                statistic.add_metric([feature, result["test"]], result["statistic"])
                p_value.add_metric([feature], result["p_value"])
            drifted.add_metric([feature], 1.0 if result.get("drifted") else 0.0)
        count.add_metric([], len(report.get("drifted_features", [])))
        dataset.add_metric([], 1.0 if report.get("dataset_drift") else 0.0)
    return [statistic, p_value, drifted, count, dataset]


def metrics_from_records(records: list[dict[str, Any]]) -> list[GaugeMetricFamily]:
    """Run counts, the newest run's outcome and step durations, the newest new batch's time."""
    runs: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        runs[record["run_id"]].append(record)
    outcome = {
        run: ("failed" if any(r["state"] == "failed" for r in recs) else "success")
        for run, recs in runs.items()
    }
    finished = {run: max(r["ended"] for r in recs) for run, recs in runs.items()}

    counted = _gauge(
        "house_prices_pipeline_runs", "Pipeline runs with stored records, by outcome", ["state"]
    )
    for state in ("success", "failed"):
        counted.add_metric([state], sum(1 for s in outcome.values() if s == state))
    last_failed = _gauge("house_prices_pipeline_last_run_failed", "1 when the newest run failed")
    last_time = _gauge(
        "house_prices_pipeline_last_run_timestamp_seconds", "When the newest run's last task ended"
    )
    steps = _gauge(
        "house_prices_pipeline_step_duration_seconds",
        "Duration of each task in the newest run that ran it",
        ["task"],
    )
    newest_batch = _gauge(
        "house_prices_pipeline_newest_batch_timestamp_seconds",
        "When an ingest task last stored a new batch",
    )
    if runs:
        newest = max(finished, key=finished.get)
        last_failed.add_metric([], 1.0 if outcome[newest] == "failed" else 0.0)
        last_time.add_metric([], finished[newest])
        latest: dict[str, dict] = {}
        for record in sorted(records, key=lambda r: r["ended"]):
            if record.get("duration_seconds") is not None:
                latest[record["task_id"]] = record
        for task, record in sorted(latest.items()):
            steps.add_metric([task], record["duration_seconds"])
        new = [r["ended"] for r in records if r.get("new_batch")]
        if new:
            newest_batch.add_metric([], max(new))
    return [counted, last_failed, last_time, steps, newest_batch]


def _run_metrics(store) -> list[GaugeMetricFamily]:
    from house_prices.storage import read_json

    records = [
        read_json(store, key) for key in store.list(keys.RUNS_PREFIX) if key.endswith(".json")
    ]
    return metrics_from_records(records)


def _mlflow_metrics(settings: Settings) -> list[GaugeMetricFamily]:
    from house_prices import registry

    client = registry.connect(settings.mlflow_tracking_uri)
    name = settings.model_name
    versions = client.search_model_versions(f"name = '{name}'")
    decisions = _gauge(
        "house_prices_promotion_decisions", "Registered versions by promotion decision",
        ["decision"],
    )  # fmt: skip
    counts: dict[str, int] = defaultdict(int)
    for mv in versions:
        counts[mv.tags.get("decision", "undecided")] += 1
    for decision in ("promoted", "rejected", "undecided"):
        decisions.add_metric([decision], counts.get(decision, 0))
    registered = _gauge("house_prices_model_versions", "Registered model versions")
    registered.add_metric([], len(versions))

    champion_version = _gauge("house_prices_champion_version", "Version the champion alias names")
    champion_metric = _gauge(
        "house_prices_champion_holdout_metric", "The champion's holdout metrics", ["metric"]
    )
    champion = registry.champion_version(client, name)
    if champion is not None:
        champion_version.add_metric([], float(champion.version))
        run = client.get_run(champion.run_id)
        for metric in HOLDOUT_METRICS:
            if metric in run.data.metrics:
                champion_metric.add_metric([metric], run.data.metrics[metric])

    train_duration = _gauge(
        "house_prices_train_duration_seconds", "Training run duration of the newest version",
        ["version"],
    )  # fmt: skip
    challenger_metric = _gauge(
        "house_prices_newest_version_holdout_metric",
        "Holdout metrics of the newest registered version",
        ["version", "metric"],
    )
    if versions:
        newest = max(versions, key=lambda mv: int(mv.version))
        run = client.get_run(newest.run_id)
        if run.info.end_time and run.info.start_time:
            seconds = (run.info.end_time - run.info.start_time) / 1000.0
            train_duration.add_metric([str(newest.version)], seconds)
        for metric in HOLDOUT_METRICS:
            if metric in run.data.metrics:
                value = run.data.metrics[metric]
                challenger_metric.add_metric([str(newest.version), metric], value)
    return [
        decisions, registered, champion_version, champion_metric, train_duration,
        challenger_metric,
    ]  # fmt: skip


class PipelineCollector(Collector):
    """A prometheus_client collector over the stored records.

    Reading MLflow and the object store takes a while, longer than a scrape should: after the
    first read, a scrape answers the last result at once and, when it is older than ``ttl``
    seconds, starts one background refresh.
    """

    def __init__(self, settings: Settings | None = None, ttl: float = 15.0) -> None:
        self._settings = settings
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: tuple[float, list] | None = None
        self._refreshing = False

    def _read(self) -> list:
        from house_prices.storage import open_store

        settings = self._settings or Settings.from_env()
        families, up = (
            [],
            _gauge(
                "house_prices_pipeline_source_up", "1 when the source could be read", ["source"]
            ),
        )
        for source, read in (
            ("store", lambda: _store_metrics(open_store(settings))),
            ("mlflow", lambda: _mlflow_metrics(settings)),
        ):
            try:
                families.extend(read())
                up.add_metric([source], 1.0)
            except Exception as exc:  # reported as a metric, logged
                _log.warning("pipeline metrics: cannot read the %s: %s", source, exc)
                up.add_metric([source], 0.0)
        return [*families, up]

    def _refresh(self) -> None:
        try:
            result = (time.monotonic(), self._read())
            with self._lock:
                self._cache = result
        finally:
            with self._lock:
                self._refreshing = False

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            cache = self._cache
            stale = cache is None or time.monotonic() - cache[0] > self._ttl
            start = stale and cache is not None and not self._refreshing
            if start:
                self._refreshing = True
        if cache is None:
            cache = (time.monotonic(), self._read())
            with self._lock:
                self._cache = cache
        elif start:
            threading.Thread(target=self._refresh, name="pipeline-metrics", daemon=True).start()
        yield from cache[1]
