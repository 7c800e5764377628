"""The original (hand-built) system's endpoints, over the same scorer, explainer, validation and
prediction log as ours.

``POST /predict`` and ``/explain`` with a flat listing reach :func:`predict` and :func:`explain`
through our own routes (see :func:`model_server.legacy_shapes.is_flat_listing`); the routes
only the original had live on :data:`legacy_api`. Shapes: :mod:`model_server.legacy_shapes`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from house_prices.listing_contract import ListingContract
from model_server import handlers
from model_server import legacy_shapes as shapes
from model_server.errors import ApiError
from model_server.validation import LISTING_FIELDS, ValidationFailed, validate_listings

__all__ = ["explain", "legacy_api", "predict"]

legacy_api = Blueprint("legacy", __name__)

HISTORY_DEFAULT = 100
#: /predictions/history answers at most this many entries; a larger ``limit`` is capped.
HISTORY_CAP = 1000
#: Logged requests a /predictions/history?state= filter looks through, newest first.
HISTORY_SCAN = 20_000
SUMMARY_WINDOW = timedelta(hours=24)
#: Logged requests /metrics/summary reads at most (newest first); more is reported as truncated.
SUMMARY_SCAN = 50_000
DIGITS = re.compile(r"[0-9]+")  # str.isdigit() accepts '¹', which int() refuses
HINT = 'original dialect: a flat object of listing fields; ours: {"listing": {...}}'


def validate_flat(flat: dict[str, Any], contract: ListingContract):
    """(our listing, imputed feature names) for a flat listing, or ValidationFailed whose
    fields are named as the client sent them (``bed``, not ``listing.bed``)."""
    listing, imputed = shapes.fill_listing(flat)
    try:
        (listing,) = validate_listings(
            {"listing": listing}, contract, 1, allow_batch=False, nullable_categories=True
        )
    except ValidationFailed as exc:
        fields = {key.removeprefix("listing."): text for key, text in exc.fields.items()}
        raise ValidationFailed(f"{exc.message} ({HINT})", fields, exc.status) from exc
    return listing, imputed


def predict(flat: dict[str, Any]):
    model = handlers.serving_model()
    listing, imputed = validate_flat(flat, model.contract)
    request_id, (entry,) = handlers.price_listings(model, [listing])
    return jsonify(shapes.predict_response(model, request_id, entry, listing, imputed))


def explain(flat: dict[str, Any]):
    model = handlers.serving_model()
    listing, imputed = validate_flat(flat, model.contract)
    document = handlers.explain_listing(model, listing)
    request_id = handlers.log_explanation(model, listing, document)
    return jsonify(shapes.explain_response(model, request_id, document, listing, imputed))


@legacy_api.post("/batch_predict")
def batch_predict():
    """A JSON array of flat listings: a price or an error per item, in order."""
    body = handlers.json_body()
    if not isinstance(body, list):
        raise ValidationFailed(
            "send a JSON array of flat listings",
            {"body": f"must be an array of listings, got {type(body).__name__}"},
        )
    max_batch = current_app.config["MAX_BATCH"]
    if len(body) > max_batch:
        raise ApiError(
            413, f"a batch holds at most {max_batch} listings (MODEL_SERVER_MAX_BATCH), "
            f"got {len(body)}: split it",
        )  # fmt: skip
    model = handlers.serving_model()
    results: list[dict[str, Any]] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(body):
        if not isinstance(item, dict):
            results.append({"input": item, "error": "must be an object of listing fields "
                            f"({', '.join(LISTING_FIELDS)})"})  # fmt: skip
            continue
        try:
            listing, _ = validate_flat(item, model.contract)
        except ValidationFailed as exc:
            detail = "; ".join(f"{key}: {text}" for key, text in exc.fields.items())
            results.append({"input": item, "error": detail or exc.message})
            continue
        results.append({"input": item})
        valid.append((index, listing))
    request_id = None
    if valid:
        request_id, entries = handlers.price_listings(
            model, [listing for _, listing in valid], endpoint="batch_predict"
        )
        for (index, _), entry in zip(valid, entries, strict=True):
            results[index].update(entry)
    return jsonify(
        {
            "predictions": results,
            "model_name": model.name,
            "model_version": model.version,
            "request_id": request_id,
        }
    )


@legacy_api.get("/")
def root():
    state = handlers.server_state()
    return jsonify(shapes.root_fields(state.holder.current, state.config.settings.model_name))


@legacy_api.get("/states")
def states():
    holder = handlers.server_state().holder
    return jsonify(shapes.states_document(holder.current, holder.last_error))


@legacy_api.get("/predictions/history")
def prediction_history():
    """Newest priced listings, one entry each, of one state if asked; public like /predictions.

    The state is compared in Python, never pasted into SQL; ``limit`` is capped at 1000.
    """
    raw = request.args.get("limit", str(HISTORY_DEFAULT))
    digits = raw.lstrip("0")
    if not DIGITS.fullmatch(raw) or not digits:
        raise ValidationFailed(
            "invalid limit",
            {"limit": f"must be a positive integer (at most {HISTORY_CAP} are returned), "
             f"got {raw[:20]!r}"},
        )  # fmt: skip
    # int() refuses strings of over 4300 digits: anything over 4 digits is over the cap anyway.
    limit = HISTORY_CAP if len(digits) > 4 else min(int(digits), HISTORY_CAP)
    state = request.args.get("state") or None
    log = handlers.server_state().log
    scan = HISTORY_SCAN if state is not None else limit
    entries = shapes.history_entries(log.newest(scan), limit, state)
    return jsonify({"predictions": entries, "count": len(entries), "limit": limit})


@legacy_api.get("/metrics/summary")
def metrics_summary():
    """Figures of the last 24 hours of logged predictions (every worker's, from the log)."""
    since = datetime.now(UTC) - SUMMARY_WINDOW
    rows = list(handlers.server_state().log.newest(SUMMARY_SCAN, since=since))
    return jsonify(
        {
            **shapes.summary_of(rows),
            "window_hours": SUMMARY_WINDOW.total_seconds() / 3600,
            "since": since.isoformat(),
            "truncated": len(rows) == SUMMARY_SCAN,
        }
    )
