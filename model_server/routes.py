"""HTTP handlers. They stay thin: validation, scoring and logging live in their own modules.

``POST /predict`` and ``/explain`` also speak the original system's dialect: a body object
without a ``listing``/``listings`` key is a flat listing, answered by :mod:`model_server.legacy`.
"""

from __future__ import annotations

import hmac
import re

from flask import Blueprint, Response, current_app, jsonify, request

from model_server import legacy
from model_server import metrics as prom
from model_server.errors import ApiError, error_response
from model_server.handlers import (
    explain_listing,
    json_body,
    log_explanation,
    price_listings,
    server_state,
    serving_model,
)
from model_server.legacy_shapes import health_fields, is_flat_listing, model_fields
from model_server.loader import ReloadError
from model_server.openapi import openapi_document
from model_server.validation import ValidationFailed, validate_listings

__all__ = ["api"]

api = Blueprint("api", __name__)
REQUEST_ID = re.compile(r"[0-9a-f]{32}")
LIMIT = re.compile(r"[0-9]{1,4}")  # str.isdigit() accepts '¹', which int() refuses


@api.post("/predict")
def predict():
    body = json_body()
    if is_flat_listing(body):
        return legacy.predict(body)
    model = serving_model()
    listings = validate_listings(body, model.contract, current_app.config["MAX_BATCH"])
    request_id, output = price_listings(model, listings)
    return jsonify({"request_id": request_id, "model": model.ref, "predictions": output})


@api.post("/explain")
def explain():
    body = json_body()
    if is_flat_listing(body):
        return legacy.explain(body)
    model = serving_model()
    listings = validate_listings(body, model.contract, 1, allow_batch=False)
    document = explain_listing(model, listings[0])
    request_id = log_explanation(model, listings[0], document)
    return jsonify({"request_id": request_id, **document})


@api.get("/explanations/<request_id>")
def explanation(request_id: str):
    state = server_state()
    record = None
    if REQUEST_ID.fullmatch(request_id):
        record = state.log.find(request_id)
    if record is None:
        raise ApiError(404, f"no prediction with request id {request_id!r} was logged")
    try:
        model = state.holder.version(record["model_version"])
    except ReloadError as exc:
        raise ApiError(503, str(exc), "model_unavailable") from exc
    document = explain_listing(model, record["inputs"][0])
    return jsonify({"request_id": request_id, "created_at": record["created_at"], **document})


@api.get("/predictions")
def recent_predictions():
    raw = request.args.get("limit", "20")
    if not LIMIT.fullmatch(raw) or not 1 <= int(raw) <= 1000:
        raise ValidationFailed(
            "invalid limit", {"limit": f"must be an integer from 1 to 1000, got {raw!r}"}
        )
    rows = server_state().log.recent(int(raw))
    return jsonify({"predictions": rows})


@api.post("/reload")
def reload():
    state = server_state()
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise ApiError(
            401,
            "send 'Authorization: Bearer <MODEL_SERVER_RELOAD_TOKEN>'",
            headers={"WWW-Authenticate": 'Bearer realm="model-server"'},
        )
    token = state.config.reload_token
    if not token:
        raise ApiError(403, "reloading over HTTP is disabled: MODEL_SERVER_RELOAD_TOKEN is unset")
    if not hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        raise ApiError(403, "the bearer token is wrong")
    try:
        result = state.holder.reload("api")
    except ReloadError as exc:
        return error_response(503, "reload_failed", str(exc))
    if result == "reloaded":
        state.holder.request_sibling_reload()
    return jsonify({"status": result, "model": state.holder.current.ref})


@api.get("/health")
def health():
    """Liveness (200 while the process answers), with the original dialect's flags."""
    state = server_state()
    return jsonify(health_fields(state.holder.current, state.log.reachable()))


@api.get("/ready")
def ready():
    holder = server_state().holder
    model = holder.current
    if model is None:
        response = jsonify({"status": "not_ready", "reason": holder.last_error})
        response.status_code = 503
        return response
    return jsonify({"status": "ready", "model": model.ref})


@api.get("/model")
def model_info():
    model = serving_model()
    return jsonify({**model.describe(), **model_fields(model)})


@api.get("/metrics")
def metrics():
    return Response(prom.render(), content_type=prom.CONTENT_TYPE_LATEST)


@api.get("/openapi.json")
def openapi():
    model = server_state().holder.current
    contract = model.contract if model else None
    return jsonify(openapi_document(current_app.config["MAX_BATCH"], contract))
