"""Prometheus metrics. Under gunicorn with several workers, each worker writes its samples to
``PROMETHEUS_MULTIPROC_DIR`` (set by ``gunicorn_conf`` before any worker starts) and
``GET /metrics`` aggregates all workers; without that variable the process registry is used.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from model_server.config import ProcessConfig

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "render"]

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The server's metrics; one instance per process (prometheus_client names are global)."""

    _instance: Metrics | None = None

    def __new__(cls) -> Metrics:
        if cls._instance is None:
            self = super().__new__(cls)
            self.requests = Counter(
                "model_server_requests",
                "HTTP requests by endpoint, method and status",
                ["endpoint", "method", "status"],
            )
            self.latency = Histogram(
                "model_server_request_duration_seconds",
                "HTTP request latency by endpoint and status",
                ["endpoint", "status"],
                buckets=LATENCY_BUCKETS,
            )
            self.predictions = Counter(
                "model_server_predictions",
                "Listings priced, by model version",
                ["model_name", "model_version"],
            )
            self.reloads = Counter(
                "model_server_reloads",
                "Model reload attempts by result (success, failure, unchanged) and trigger",
                ["result", "trigger"],
            )
            # The version each live worker serves; "livemax" drops dead workers' values and
            # reports the highest, so a half-finished rollout shows the newer version.
            self.model_version = Gauge(
                "model_server_model_version",
                "Registered version of the model being served (0 before the first load)",
                ["model_name"],
                multiprocess_mode="livemax",
            )
            self.log_dropped = Counter(
                "model_server_prediction_log_dropped",
                "Predictions not logged because the log queue was full",
            )
            self.log_errors = Counter(
                "model_server_prediction_log_errors",
                "Failed writes to the prediction log (retried)",
            )
            cls._instance = self
        return cls._instance


def render() -> bytes:
    if ProcessConfig.from_env().prometheus_multiproc_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
