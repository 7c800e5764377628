"""Flask application of the data API emulator.

Routes (all ``GET``)::

    /data?group_number=N&day=Tuesday                 one batch of listings
    /restart_data_generation?group_number=N&day=...   reset that (group, day) sequence
    /health                                           {"status": "ok", ...}
    /metrics                                          Prometheus text format
    /openapi.json                                     OpenAPI 3.1 description
    /                                                 what this service is

Errors are JSON ``{"detail": "..."}``, the original FastAPI server's shape, with status 400
for every client mistake (docs/data-api-emulator.md says where that differs). The batch
sequence lives in process memory: serve with ONE gunicorn worker, e.g.
``gunicorn 'data_api_emulator.app:create_app()' -w 1 --threads 4``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import pandas as pd
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from data_api_emulator.config import EmulatorConfig
from data_api_emulator.csv_source import CsvSource
from data_api_emulator.generator import DAYS, generate_batch
from data_api_emulator.openapi import openapi_document
from data_api_emulator.repeats import OverlappingBatches
from data_api_emulator.state import BatchesExhausted, BatchSequencer

__all__ = ["DETAIL_EXHAUSTED", "DETAIL_INVALID_GROUP", "ApiError", "create_app"]

_logger = logging.getLogger(__name__)

#: The original server's messages, verbatim: clients match on them.
DETAIL_INVALID_GROUP = "Número de grupo inválido"
DETAIL_EXHAUSTED = "Ya se recolectó toda la información minima necesaria"

_USAGE = "?group_number=<integer>&day=<Monday|Tuesday|...|Sunday>"
_INT = re.compile(r"[+-]?\d+")

bp = Blueprint("data_api", __name__)
_SIDE_EFFECT_ENDPOINTS = ("data_api.data", "data_api.restart_data_generation")


class ApiError(Exception):
    """An error answered as ``{"detail": detail}`` with ``status``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Metrics:
    """Prometheus metrics in a registry of their own (one per app, so tests can build many)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "data_api_emulator_requests",
            "HTTP requests by route, method and status code",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "data_api_emulator_request_duration_seconds",
            "Time to answer a request, by route",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.batches_served = Counter(
            "data_api_emulator_batches_served",
            "Successful /data answers (a repeated batch counts again)",
            ["group", "day"],
            registry=r,
        )
        self.rows_served = Counter(
            "data_api_emulator_rows_served", "Rows sent by /data", ["group", "day"], registry=r
        )
        self.exhausted = Counter(
            "data_api_emulator_exhausted_answers",
            "/data answers saying every batch was already collected",
            ["group", "day"],
            registry=r,
        )
        self.restarts = Counter(
            "data_api_emulator_restarts",
            "/restart_data_generation calls",
            ["group", "day"],
            registry=r,
        )
        self.current_batch = Gauge(
            "data_api_emulator_current_batch",
            "Batch number last handed out per group and day (0 after a restart)",
            ["group", "day"],
            registry=r,
        )
        self.build_seconds = Histogram(
            "data_api_emulator_batch_build_seconds",
            "Time to build and serialise a batch that was not cached",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )


class _BatchCache:
    """Serialised batches (JSON text of the record list), least recently used dropped first."""

    def __init__(self, build: Callable[[int, int, int], str], size: int) -> None:
        self._build = build
        self._size = size
        self._items: OrderedDict[tuple[int, int, int], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, group: int, day: int, batch: int, on_build: Callable[[float], None]) -> str:
        key = (group, day, batch)
        # One lock for lookups and builds: concurrent callers of the same batch build it once.
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            started = time.perf_counter()
            text = self._build(group, day, batch)
            on_build(time.perf_counter() - started)
            if self._size:
                self._items[key] = text
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
            return text


class _Emulator:
    """What a request handler needs, stored in ``app.extensions``."""

    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] | None) -> None:
        self.config = config
        self.metrics = _Metrics()
        kwargs = {} if clock is None else {"clock": clock}
        self.sequencer = BatchSequencer(
            batches_per_day=config.batches_per_day,
            min_interval_seconds=config.min_interval_seconds,
            **kwargs,
        )
        fresh: Callable[[int, int, int], pd.DataFrame]
        if config.csv_path is not None:
            source = CsvSource(
                config.csv_path,
                seed=config.seed,
                batches_per_day=config.batches_per_day,
                rows_per_batch=config.rows_per_batch,
            )
            fresh = source.batch
            self.rows_per_batch = source.rows_per_batch
        else:

            def fresh(group: int, day: int, batch: int) -> pd.DataFrame:
                return generate_batch(
                    group,
                    day,
                    batch,
                    config.rows_per_batch,
                    config.seed,
                    drift=config.drift,
                    dirt=config.dirt,
                )

            self.rows_per_batch = config.rows_per_batch
        # One place for both sources: later batches re-serve listings of earlier ones.
        build = OverlappingBatches(
            fresh,
            seed=config.seed,
            share=config.repeat_share,
            batches_per_day=config.batches_per_day,
            rows=self.rows_per_batch,
        )
        self.cache = _BatchCache(
            lambda gr, d, b: build(gr, d, b).to_json(orient="records"), config.cache_batches
        )


def create_app(
    config: EmulatorConfig | None = None, *, clock: Callable[[], float] | None = None
) -> Flask:
    """Build the emulator app.

    Args:
        config: settings; ``None`` reads ``DATA_API_EMULATOR_*`` variables
            (``EmulatorConfig.from_env()``).
        clock: monotonic seconds for the batch interval (tests pass a fake clock).

    Raises:
        ConfigError: invalid settings or an unusable CSV.
    """
    config = EmulatorConfig.from_env() if config is None else config
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # UTF-8, as FastAPI sends
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["data_api_emulator"] = _Emulator(config, clock)
    app.register_blueprint(bp)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.before_request(_start_timer)
    app.after_request(_count_request)
    _logger.info(
        "data API emulator ready: mode=%s groups=%s batches_per_day=%d rows_per_batch=%d "
        "min_interval_seconds=%s repeat_share=%s",
        config.mode,
        ",".join(map(str, config.groups)),
        config.batches_per_day,
        app.extensions["data_api_emulator"].rows_per_batch,
        config.min_interval_seconds,
        config.repeat_share,
    )
    return app


def _emulator() -> _Emulator:
    return current_app.extensions["data_api_emulator"]


def _params(endpoint: str) -> tuple[int, int]:
    """Validate ``group_number`` and ``day``; return the group and the day index."""
    missing = [name for name in ("group_number", "day") if name not in request.args]
    if missing:
        raise ApiError(
            400,
            f"Missing required query parameter(s): {', '.join(missing)}. Call {endpoint}{_USAGE}",
        )
    raw_group = request.args["group_number"]
    if not _INT.fullmatch(raw_group):
        raise ApiError(400, f"group_number must be an integer, got {raw_group!r}")
    group = int(raw_group)
    if group not in _emulator().config.groups:
        raise ApiError(400, DETAIL_INVALID_GROUP)
    # Exact names only: an emulator stricter than the real server catches client bugs that
    # a lenient one would hide until production.
    raw_day = request.args["day"]
    if raw_day not in DAYS:
        raise ApiError(400, f"Invalid day {raw_day!r}: use one of {', '.join(DAYS)}")
    return group, DAYS.index(raw_day)


@bp.get("/data")
def data() -> Response:
    """One batch of listings for ``group_number`` and ``day``.

    :raise 400: missing or invalid parameters, unknown group, or every batch collected.
    """
    group, day = _params("/data")
    emulator = _emulator()
    labels = {"group": str(group), "day": DAYS[day]}
    try:
        step = emulator.sequencer.next_batch(group, day)
    except BatchesExhausted:
        emulator.metrics.exhausted.labels(**labels).inc()
        raise ApiError(400, DETAIL_EXHAUSTED) from None
    if step.advanced:
        emulator.metrics.current_batch.labels(**labels).set(step.batch)
        _logger.info("group %d %s: batch %d", group, DAYS[day], step.batch)
    records = emulator.cache.get(group, day, step.batch, emulator.metrics.build_seconds.observe)
    head = json.dumps({"group_number": group, "day": DAYS[day], "batch_number": step.batch})
    emulator.metrics.batches_served.labels(**labels).inc()
    emulator.metrics.rows_served.labels(**labels).inc(emulator.rows_per_batch)
    return Response(f'{head[:-1]}, "data": {records}}}', mimetype="application/json")


@bp.get("/restart_data_generation")
def restart_data_generation() -> Response:
    """Reset the batch sequence of ``group_number`` and ``day``: the next call gets batch 1.

    :raise 400: missing or invalid parameters, or unknown group.
    """
    group, day = _params("/restart_data_generation")
    emulator = _emulator()
    emulator.sequencer.restart(group, day)
    labels = {"group": str(group), "day": DAYS[day]}
    emulator.metrics.restarts.labels(**labels).inc()
    emulator.metrics.current_batch.labels(**labels).set(0)
    _logger.info("group %d %s: batch sequence restarted", group, DAYS[day])
    return jsonify(
        status="ok",
        group_number=group,
        day=DAYS[day],
        detail="Batch sequence restarted: the next /data call gets batch 1",
    )


@bp.get("/data/")
@bp.get("/data/<path:_rest>")
@bp.get("/restart_data_generation/")
@bp.get("/restart_data_generation/<path:_rest>")
def path_parameters(_rest: str = "") -> Response:
    """Path-style calls (``/data/5/Tuesday``) are refused, as by the original server.

    :raise 400: always.
    """
    endpoint = "/" + request.path.strip("/").split("/", 1)[0]
    raise ApiError(
        400,
        f"Path parameters are not supported: send query parameters, {endpoint}{_USAGE}",
    )


@bp.get("/health")
def health() -> Response:
    """Liveness and the settings that shape the data."""
    emulator = _emulator()
    config = emulator.config
    return jsonify(
        status="ok",
        mode=config.mode,
        groups=list(config.groups),
        batches_per_day=config.batches_per_day,
        rows_per_batch=emulator.rows_per_batch,
        min_interval_seconds=config.min_interval_seconds,
        repeat_share=config.repeat_share,
    )


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(_emulator().metrics.registry), mimetype=CONTENT_TYPE_LATEST)


@bp.get("/openapi.json")
def openapi() -> Response:
    """OpenAPI 3.1 description of the routes above."""
    return jsonify(openapi_document(_emulator().config.groups))


@bp.get("/")
def index() -> Response:
    """What this service is and how to call it."""
    return jsonify(
        service="data-api-emulator",
        routes={
            "/data": f"GET /data{_USAGE}",
            "/restart_data_generation": f"GET /restart_data_generation{_USAGE}",
            "/health": "GET /health",
            "/metrics": "GET /metrics",
            "/openapi.json": "GET /openapi.json",
        },
    )


def _api_error(error: ApiError) -> tuple[Response, int]:
    return jsonify(detail=error.detail), error.status


def _http_error(error: HTTPException) -> tuple[Response, int]:
    # FastAPI answers {"detail": "Not Found"} and the like: the short reason phrase.
    response = jsonify(detail=error.name)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)  # RFC 9110 requires it
    return response, error.code or 500


def _unexpected_error(error: Exception) -> tuple[Response, int]:
    _logger.exception("unhandled error on %s", request.path, exc_info=error)
    return jsonify(detail="Internal Server Error"), 500


def _start_timer() -> None:
    g.started = time.perf_counter()
    # Werkzeug answers HEAD on every GET route; here that would consume a batch.
    if request.method == "HEAD" and request.endpoint in _SIDE_EFFECT_ENDPOINTS:
        raise MethodNotAllowed(valid_methods=["GET"])


def _count_request(response: Response) -> Response:
    metrics = _emulator().metrics
    rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    metrics.requests.labels(
        route=rule, method=request.method, status=str(response.status_code)
    ).inc()
    started = g.get("started")
    if started is not None:
        metrics.latency.labels(route=rule).observe(time.perf_counter() - started)
    return response
