"""Serving and pipeline figures for the Status page, for people without Grafana.

Serving figures come from the model server's ``/metrics`` (totals since its start: there is
no time series without Prometheus); pipeline figures from the same collector the web UI's
``/metrics`` serves. Each is a list of ``(title, rows, unit)`` bar charts, empty when the
source has nothing to say yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import requests
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

__all__ = ["Chart", "pipeline_charts", "quantile", "serving_charts"]

Chart = tuple[str, list[tuple[str, float]], str]


def _samples(families: Iterable) -> dict[str, list[tuple[dict, float]]]:
    out: dict[str, list[tuple[dict, float]]] = defaultdict(list)
    for family in families:
        for sample in family.samples:
            out[sample.name].append((sample.labels, sample.value))
    return out


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """``q`` quantile from cumulative histogram buckets (upper bound -> count), interpolated
    linearly inside the bucket as Prometheus' histogram_quantile does."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 0.0)
        lower, below = bound, count
    return lower


def serving_charts(
    model_server_url: str, timeout: float = 5.0, verify: str | bool = True
) -> list[Chart]:
    """The model server's request charts (``verify``: the appliance CA file, or True)."""
    try:
        answer = requests.get(f"{model_server_url}/metrics", timeout=timeout, verify=verify)
        answer.raise_for_status()
    except requests.RequestException:
        return []
    samples = _samples(text_string_to_metric_families(answer.text))
    by_endpoint: dict[str, float] = defaultdict(float)
    by_status: dict[str, float] = defaultdict(float)
    for labels, value in samples.get("model_server_requests_total", []):
        by_endpoint[labels["endpoint"]] += value
        by_status[labels["status"]] += value
    buckets: dict[float, float] = defaultdict(float)
    for labels, value in samples.get("model_server_request_duration_seconds_bucket", []):
        if labels.get("endpoint") == "/predict":
            buckets[float(labels["le"])] += value
    latency = [
        (f"p{int(q * 100)}", value)
        for q in (0.5, 0.95, 0.99)
        if (value := quantile(q, buckets)) is not None
    ]
    reloads: dict[str, float] = defaultdict(float)
    for labels, value in samples.get("model_server_reloads_total", []):
        reloads[labels["result"]] += value
    charts: list[Chart] = [
        ("Requests by endpoint since the server started", sorted(by_endpoint.items()), "count"),
        ("Answers by status since the server started", sorted(by_status.items()), "count"),
        ("/predict latency since the server started", latency, "seconds"),
        ("Model reloads by result", sorted(reloads.items()), "count"),
    ]
    return [chart for chart in charts if chart[1]]


def pipeline_charts(registry: CollectorRegistry) -> list[Chart]:
    samples = _samples(registry.collect())

    def rows(name: str, label: str) -> list[tuple[str, float]]:
        return sorted((labels[label], value) for labels, value in samples.get(name, []))

    dropped: dict[str, float] = defaultdict(float)
    for labels, value in samples.get("house_prices_rows_dropped", []):
        dropped[labels["rule"]] += value
    charts: list[Chart] = [
        ("Pipeline runs by outcome", rows("house_prices_pipeline_runs", "state"), "count"),
        (
            "Step durations of the newest run",
            rows("house_prices_pipeline_step_duration_seconds", "task"),
            "seconds",
        ),
        ("Rows dropped per cleaning rule (all batches)", sorted(dropped.items()), "count"),
        (
            "Drift statistic per feature (newest batch)",
            rows("house_prices_drift_statistic", "feature"),
            "statistic",
        ),
        ("Promotion decisions", rows("house_prices_promotion_decisions", "decision"), "count"),
        (
            "Champion holdout metrics",
            [
                (labels["metric"], value)
                for labels, value in samples.get("house_prices_champion_holdout_metric", [])
                if labels["metric"] in ("rmse", "mae")
            ],
            "dollars",
        ),
    ]
    return [chart for chart in charts if chart[1]]
