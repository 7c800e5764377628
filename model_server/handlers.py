"""What the handlers of both dialects share: the app's state, the served model, the JSON body,
the explanation of one listing, and the pricing of validated listings (scored and logged)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np
from flask import current_app, g, request

from house_prices.explain import ADDITIVITY_TOLERANCE
from model_server.errors import ApiError
from model_server.loader import LoadedModel
from model_server.scoring import dollars
from model_server.validation import parse_json

__all__ = [
    "elapsed_ms",
    "explain_listing",
    "json_body",
    "log_explanation",
    "price_listings",
    "server_state",
    "serving_model",
]


#: The price fields of an explanation kept in the prediction log (rows logged before the
#: spread was added hold ``prediction`` instead: see ``legacy_shapes``).
LOGGED_PRICE = ("price", "price_low", "price_high")


def server_state():
    """The process's :class:`model_server.app.ServerState`."""
    return current_app.extensions["model_server"]


def serving_model() -> LoadedModel:
    """The model serving now, read once per request; 503 while none is loaded."""
    state = server_state()
    model = state.holder.current
    if model is None:
        raise ApiError(503, f"no model is loaded yet: {state.holder.last_error}", "not_ready")
    return model


def json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            f"send the body as JSON with 'Content-Type: application/json' "
            f"(got {request.content_type or 'no content type'!r})",
        )
    return parse_json(request.get_data(cache=False))


def elapsed_ms() -> float:
    return (time.perf_counter() - g.started) * 1000.0


def _priced(price: float, lows, highs, index: int) -> dict[str, float | None]:
    """One price entry, the same on /predict and /explain: the price and the trees' spread
    (``lows``/``highs`` are None for a model without trees)."""
    return {
        "price": round(float(price), 2),
        "price_low": None if lows is None else dollars(lows[index]),
        "price_high": None if highs is None else dollars(highs[index]),
    }


def price_listings(
    model: LoadedModel, listings: list[dict[str, Any]], endpoint: str = "predict"
) -> tuple[str, list[dict[str, Any]]]:
    """Score validated listings, count and log them: (request id, one price entry each)."""
    prices, lows, highs = model.scorer.predict(listings)
    output = [_priced(price, lows, highs, i) for i, price in enumerate(prices)]
    request_id = uuid.uuid4().hex
    state = server_state()
    state.metrics.predictions.labels(model.name, model.version).inc(len(output))
    state.log.record(request_id, endpoint, model.ref, listings, output, elapsed_ms())
    return request_id, output


def explain_listing(model: LoadedModel, listing: dict[str, Any]) -> dict[str, Any]:
    """The price of one listing with its spread (as /predict gives them) and its SHAP
    explanation in dollars, largest contribution first."""
    explanation, lows, highs = model.explainer.explain_priced([listing])
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
        **_priced(prediction, lows, highs, 0),
        "base_value": explanation.base_value,
        "contributions": contributions,
        "additivity_error": error,
        "tolerance": ADDITIVITY_TOLERANCE,
    }


def log_explanation(model: LoadedModel, listing: dict[str, Any], document: dict) -> str:
    """Count and log an explained listing; its request id."""
    request_id = uuid.uuid4().hex
    state = server_state()
    state.metrics.predictions.labels(model.name, model.version).inc()
    output = {key: document[key] for key in (*LOGGED_PRICE, "base_value", "contributions")}
    state.log.record(request_id, "explain", model.ref, [listing], output, elapsed_ms())
    return request_id
