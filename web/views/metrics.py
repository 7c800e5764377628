"""``GET /metrics``: the pipeline's figures for Prometheus (see house_prices.pipeline_metrics).

The web UI already reads MLflow and the object store's neighbours, and it is always running,
so it is the one long-lived process that can report what the short-lived pipeline tasks left.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from house_prices.pipeline_metrics import PipelineCollector

bp = Blueprint("metrics", __name__)


def pipeline_registry() -> CollectorRegistry:
    """One registry per app, holding the (caching) pipeline collector."""
    registry = current_app.extensions.get("pipeline_metrics")
    if registry is None:
        registry = CollectorRegistry()
        registry.register(PipelineCollector())
        current_app.extensions["pipeline_metrics"] = registry
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(pipeline_registry()), content_type=CONTENT_TYPE_LATEST)
