"""House-price model server: a Flask JSON API run under gunicorn.

Endpoints (contract: docs/model-server.md):
  POST /predict                 price one listing or a batch (with the trees' 10th-90th spread)
  POST /explain                 price one listing and explain it with SHAP, in dollars
  GET  /explanations/<id>       the explanation of an earlier request, by the version that made it
  GET  /predictions?limit=N     recent logged predictions
  POST /reload                  load the champion now (bearer token)
  GET  /health, /ready, /model  liveness, readiness, the served model
  GET  /metrics                 Prometheus metrics
  GET  /openapi.json            OpenAPI 3.1 description

The original hand-built system's dialect on the same port (model_server.legacy): flat listings
on POST /predict and /explain, POST /batch_predict, GET /, /states, /predictions/history,
/metrics/summary, and its fields on /health and /model.

Run: ``gunicorn -c python:model_server.gunicorn_conf model_server.wsgi:app``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from model_server.config import ServerConfig

__all__ = ["create_app"]


def create_app(config: ServerConfig | None = None, start_background: bool = True) -> Flask:
    """Build the app (see :func:`model_server.app.create_app`).

    Imported lazily: gunicorn imports this package to read ``gunicorn_conf`` in its master,
    which must not load scikit-learn or prometheus_client before the config sets
    PROMETHEUS_MULTIPROC_DIR.
    """
    from model_server.app import create_app as factory

    return factory(config, start_background)
