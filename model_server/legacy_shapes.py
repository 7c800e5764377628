"""The original (hand-built) system's JSON dialect, as pure translations to and from ours.

Nothing here scores, validates or logs: the handlers hand these functions what the server's
own scorer, explainer, validation and prediction log produced, and get the original shapes
back. The rule that tells the dialects apart on ``POST /predict`` and ``/explain`` is
:func:`is_flat_listing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib import metadata
from typing import Any

from house_prices.features import FEATURES, NUMERIC_FEATURES
from house_prices.listing_contract import OPTIONAL_FIELDS
from house_prices.registry_types import CHAMPION_ALIAS
from model_server.loader import LoadedModel
from model_server.validation import LISTING_FIELDS

__all__ = [
    "OUR_BODY_KEYS",
    "explain_response",
    "fill_listing",
    "health_fields",
    "history_entries",
    "is_flat_listing",
    "model_fields",
    "predict_response",
    "root_fields",
    "states_document",
    "summary_of",
    "values_used",
]

#: A body object holding one of these keys is our dialect; any other object is a flat listing.
OUR_BODY_KEYS = ("listing", "listings")
SERVICE = "House price model server"


def is_flat_listing(body: Any) -> bool:
    """True for a body in the original dialect: a JSON object without ``listing``/``listings``.

    Every field of a flat listing is optional, so ``{}`` is one too (all fields imputed).
    """
    return isinstance(body, dict) and not any(key in body for key in OUR_BODY_KEYS)


def fill_listing(flat: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Our listing for a flat one, and the model features it did not give.

    An absent feature becomes null, which the model imputes itself (training median for a
    number, the encoder's missing category for state and status). Unknown keys are kept so
    validation names them.
    """
    listing = {**dict.fromkeys(FEATURES), **flat}
    return listing, [name for name in FEATURES if listing[name] is None]


def _imputation(model: LoadedModel) -> dict[str, float | None]:
    """What the model puts in place of a missing number: its fitted imputer's statistics."""
    encoder = model.scorer.encoder
    if encoder is not None:
        return {name: encoder.imputed.get(name) for name in NUMERIC_FEATURES}
    return {name: model.features["numeric"][name]["median"] for name in NUMERIC_FEATURES}


def values_used(model: LoadedModel, listing: dict[str, Any]) -> dict[str, Any]:
    """The listing as the model saw it: imputed numbers filled in, missing categories null."""
    imputed = _imputation(model)
    used = {
        name: imputed[name] if name in imputed and listing.get(name) is None else listing.get(name)
        for name in FEATURES
    }
    for name in OPTIONAL_FIELDS:
        if listing.get(name) is not None:
            used[name] = listing[name]
    return used


def _model_ref(model: LoadedModel) -> dict[str, Any]:
    return {
        "model_name": model.name,
        "model_version": model.version,
        "model_stage": CHAMPION_ALIAS,
        "model_run_id": model.run_id,
    }


def predict_response(
    model: LoadedModel,
    request_id: str,
    entry: dict[str, Any],
    listing: dict[str, Any],
    imputed: list[str],
) -> dict[str, Any]:
    """``POST /predict`` (flat listing): the price, the model, the inputs used, what was filled."""
    return {
        **entry,
        **_model_ref(model),
        "features_used": list(model.explainer.feature_names),
        "input_summary": values_used(model, listing),
        "imputed_fields": imputed,
        "request_id": request_id,
    }


def explain_response(
    model: LoadedModel,
    request_id: str,
    document: dict[str, Any],
    listing: dict[str, Any],
    imputed: list[str],
) -> dict[str, Any]:
    """``POST /explain`` (flat listing): SHAP values in dollars in the model's feature order.

    ``base_value + sum(shap_values)`` is ``price`` within the server's additivity tolerance.
    """
    by_feature = {item["feature"]: item["contribution"] for item in document["contributions"]}
    names = list(model.explainer.feature_names)
    used = values_used(model, listing)
    return {
        "price": document["price"],
        "shap_values": [by_feature[name] for name in names],
        "base_value": document["base_value"],
        "feature_names": names,
        "feature_values": [used[name] for name in names],
        **_model_ref(model),
        "imputed_fields": imputed,
        "additivity_error": document["additivity_error"],
        "request_id": request_id,
    }


def health_fields(model: LoadedModel | None, database_connected: bool) -> dict[str, Any]:
    return {
        "status": "healthy" if model is not None else "degraded",
        "model_loaded": model is not None,
        "explainer_loaded": model is not None and model.explainer is not None,
        "database_connected": database_connected,
    }


def model_fields(model: LoadedModel) -> dict[str, Any]:
    """The original's ``GET /model`` fields, added to ours."""
    return {
        **_model_ref(model),
        "model_loaded": True,
        "explainer_loaded": model.explainer is not None,
        "available_states": list(model.features["categorical"]["state"]),
        "feature_names": list(model.explainer.feature_names),
    }


def _service_version() -> str:
    try:
        return metadata.version("house-price-appliance")
    except metadata.PackageNotFoundError:
        return "unknown"


def root_fields(model: LoadedModel | None, model_name: str) -> dict[str, Any]:
    """``GET /``: the service, the model it serves (nulls while none is loaded), its features."""
    ref = _model_ref(model) if model is not None else {
        "model_name": model_name, "model_version": None, "model_stage": CHAMPION_ALIAS,
        "model_run_id": None,
    }  # fmt: skip
    return {
        "service": SERVICE,
        "version": _service_version(),
        **ref,
        "model_loaded": model is not None,
        "explainer_loaded": model is not None and model.explainer is not None,
        "features": list(model.explainer.feature_names) if model is not None else list(FEATURES),
        "openapi": "/openapi.json",
    }


def states_document(model: LoadedModel | None, reason: str = "") -> dict[str, Any]:
    """``GET /states``: mean training price per state, dearest first."""
    if model is None:
        return {"states": [], "note": f"no model is loaded yet: {reason}"}
    if not model.state_prices:
        return {
            "states": [],
            "note": f"version {model.version} of {model.name} was trained before per-state "
            "prices were recorded; the next trained version has them",
        }
    ranked = sorted(model.state_prices.items(), key=lambda item: (-item[1], item[0]))
    return {"states": [{"state": state, "avg_price": price} for state, price in ranked]}


def _logged_prices(row: dict[str, Any]) -> list[float | None]:
    """One price per logged input: /predict logs a list of prices, /explain one price
    (``prediction`` in rows logged before /explain named it ``price``)."""
    output = row["output"]
    if isinstance(output, list):
        return [item.get("price") if isinstance(item, dict) else None for item in output]
    if isinstance(output, dict):
        return [output.get("price", output.get("prediction"))]
    return [None] * len(row["inputs"])


def _flatten(row: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One history entry per listing of a logged request, shaped like the original's rows."""
    for listing, price in zip(row["inputs"], _logged_prices(row), strict=False):
        yield {
            "request_id": row["request_id"],
            "timestamp": row["created_at"],
            "endpoint": row["endpoint"],
            **{name: listing.get(name) for name in LISTING_FIELDS},
            "predicted_price": price,
            "model_name": row["model_name"],
            "model_version": row["model_version"],
            "response_time_ms": row["latency_ms"],
        }


def history_entries(
    rows: Iterable[dict[str, Any]], limit: int, state: str | None = None
) -> list[dict[str, Any]]:
    """The ``limit`` newest priced listings of ``rows`` (newest first), of one state if given."""
    entries: list[dict[str, Any]] = []
    for row in rows:
        for entry in _flatten(row):
            if state is None or entry["state"] == state:
                entries.append(entry)
                if len(entries) == limit:
                    return entries
    return entries


def summary_of(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``GET /metrics/summary`` over logged requests: counts per priced listing, latency per
    request; averages are null when nothing was priced."""
    prices: list[float] = []
    latencies: list[float] = []
    states: set[str] = set()
    versions: set[str] = set()
    for row in rows:
        latencies.append(row["latency_ms"])
        versions.add(row["model_version"])
        for entry in _flatten(row):
            if entry["predicted_price"] is not None:
                prices.append(entry["predicted_price"])
            if entry["state"] is not None:
                states.add(entry["state"])
    return {
        "total_predictions": len(prices),
        "avg_price": round(sum(prices) / len(prices), 2) if prices else None,
        "min_price": min(prices) if prices else None,
        "max_price": max(prices) if prices else None,
        "avg_response_time_ms": round(sum(latencies) / len(latencies), 3) if latencies else None,
        "unique_states": len(states),
        "model_versions_used": len(versions),
        "requests": len(latencies),
    }
