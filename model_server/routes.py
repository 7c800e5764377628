"""HTTP handlers. They stay thin: validation, scoring and logging live in their own modules."""

from __future__ import annotations

import hmac
import re
import time
import uuid
from typing import Any

import numpy as np
from flask import Blueprint, Response, current_app, g, jsonify, request

from house_prices.explain import ADDITIVITY_TOLERANCE
from model_server import metrics as prom
from model_server.errors import ApiError, error_response
from model_server.loader import LoadedModel, ReloadError
from model_server.openapi import openapi_document
from model_server.scoring import dollars
from model_server.validation import ValidationFailed, parse_json, validate_listings

__all__ = ["api"]

api = Blueprint("api", __name__)
REQUEST_ID = re.compile(r"[0-9a-f]{32}")
LIMIT = re.compile(r"[0-9]{1,4}")  # str.isdigit() accepts '¹', which int() refuses


def _state():
    return current_app.extensions["model_server"]


def _serving() -> LoadedModel:
    model = _state().holder.current
    if model is None:
        raise ApiError(503, f"no model is loaded yet: {_state().holder.last_error}", "not_ready")
    return model


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            f"send the body as JSON with 'Content-Type: application/json' "
            f"(got {request.content_type or 'no content type'!r})",
        )
    return parse_json(request.get_data(cache=False))


def _elapsed_ms() -> float:
    return (time.perf_counter() - g.started) * 1000.0


def explain_listing(model: LoadedModel, listing: dict[str, Any]) -> dict[str, Any]:
    """The SHAP explanation of one listing in dollars, largest contribution first."""
    explanation = model.explainer.explain([listing])
    values = explanation.values[0]
    prediction = float(explanation.predictions[0])
    order = np.argsort(-np.abs(values), kind="stable")
    contributions = [
        {
            "feature": explanation.feature_names[i],
            "value": listing.get(explanation.feature_names[i]),
            "contribution": float(values[i]),
        }
        for i in order
    ]
    error = abs(explanation.base_value + float(values.sum()) - prediction)
    return {
        "model": model.ref,
        "prediction": prediction,
        "base_value": explanation.base_value,
        "contributions": contributions,
        "additivity_error": error,
        "tolerance": ADDITIVITY_TOLERANCE,
    }


@api.post("/predict")
def predict():
    body = _json_body()
    model = _serving()
    listings = validate_listings(body, model.features, current_app.config["MAX_BATCH"])
    prices, lows, highs = model.scorer.predict(listings)
    output = [
        {
            "price": round(float(price), 2),
            "price_low": None if lows is None else dollars(lows[i]),
            "price_high": None if highs is None else dollars(highs[i]),
        }
        for i, price in enumerate(prices)
    ]
    request_id = uuid.uuid4().hex
    state = _state()
    state.metrics.predictions.labels(model.name, model.version).inc(len(output))
    state.log.record(request_id, "predict", model.ref, listings, output, _elapsed_ms())
    return jsonify({"request_id": request_id, "model": model.ref, "predictions": output})


@api.post("/explain")
def explain():
    body = _json_body()
    model = _serving()
    listings = validate_listings(body, model.features, 1, allow_batch=False)
    document = explain_listing(model, listings[0])
    request_id = uuid.uuid4().hex
    state = _state()
    state.metrics.predictions.labels(model.name, model.version).inc()
    output = {key: document[key] for key in ("prediction", "base_value", "contributions")}
    state.log.record(request_id, "explain", model.ref, listings, output, _elapsed_ms())
    return jsonify({"request_id": request_id, **document})


@api.get("/explanations/<request_id>")
def explanation(request_id: str):
    state = _state()
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
    rows = _state().log.recent(int(raw))
    return jsonify({"predictions": rows})


@api.post("/reload")
def reload():
    state = _state()
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
    return jsonify({"status": "ok"})


@api.get("/ready")
def ready():
    holder = _state().holder
    model = holder.current
    if model is None:
        response = jsonify({"status": "not_ready", "reason": holder.last_error})
        response.status_code = 503
        return response
    return jsonify({"status": "ready", "model": model.ref})


@api.get("/model")
def model_info():
    return jsonify(_serving().describe())


@api.get("/metrics")
def metrics():
    return Response(prom.render(), content_type=prom.CONTENT_TYPE_LATEST)


@api.get("/openapi.json")
def openapi():
    model = _state().holder.current
    features = model.features if model else None
    return jsonify(openapi_document(current_app.config["MAX_BATCH"], features))
