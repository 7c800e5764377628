"""The app factory and the per-process state it wires together."""

from __future__ import annotations

import atexit
import logging
import os
import time
from dataclasses import dataclass

from flask import Flask, g, request

from model_server.auth import check_request
from model_server.config import ServerConfig
from model_server.errors import register_error_handlers
from model_server.holder import ModelHolder
from model_server.metrics import Metrics
from model_server.predictions_log import PredictionLog

__all__ = ["ServerState", "create_app"]

_log = logging.getLogger(__name__)

#: Largest accepted body; a full batch of listings fits well below it.
MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass
class ServerState:
    config: ServerConfig
    holder: ModelHolder
    log: PredictionLog
    metrics: Metrics

    def close(self) -> None:
        """Stop polling and write every buffered prediction (graceful stop)."""
        self.holder.stop()
        self.log.close()


def create_app(config: ServerConfig | None = None, start_background: bool = True) -> Flask:
    """Build the app. ``start_background`` starts the model poller and the log writer threads;
    tests pass False and call ``holder.reload()`` themselves.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    config = config or ServerConfig.from_env()
    config.state_dir.mkdir(parents=True, exist_ok=True)
    metrics = Metrics()

    def on_reload(result: str, trigger: str) -> None:
        metrics.reloads.labels(result, trigger).inc()
        if holder.current is not None:
            metrics.model_version.labels(config.settings.model_name).set(
                float(holder.current.version)
            )

    holder = ModelHolder(config, on_reload=on_reload)
    metrics.model_version.labels(config.settings.model_name).set(0)
    log = PredictionLog(config.database_url, queue_size=config.log_queue_size)
    log.on_drop = metrics.log_dropped.inc
    log.on_error = metrics.log_errors.inc
    state = ServerState(config, holder, log, metrics)

    app = Flask(__name__)
    app.config.update(MAX_BATCH=config.max_batch, MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    app.json.sort_keys = False
    app.extensions["model_server"] = state
    register_error_handlers(app)

    from model_server.legacy import legacy_api
    from model_server.routes import api

    app.register_blueprint(api)
    app.register_blueprint(legacy_api)  # the original system's dialect: docs/model-server.md

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.before_request
    def _authorise() -> None:
        check_request(config.auth_enabled, config.api_keys, config.metrics_port)

    @app.after_request
    def _observe(response):
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        status = str(response.status_code)
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.requests.labels(endpoint, request.method, status).inc()
        metrics.latency.labels(endpoint, status).observe(elapsed)
        return response

    if start_background:
        log.start()
        holder.start(wait=config.startup_wait_seconds)
        atexit.register(state.close)
    return app
