"""The OpenAPI part of the original system's dialect: its schemas and the routes only it had.

Merged into the one document by :func:`model_server.openapi.openapi_document`.
"""

from __future__ import annotations

from typing import Any

from house_prices.features import STATUSES
from model_server.openapi_parts import bad_limit_response, json_body, json_response, ref

__all__ = ["DIALECT_RULE", "legacy_paths", "legacy_schemas"]

DIALECT_RULE = (
    "Two dialects share POST /predict and POST /explain, told apart by the body: a JSON object "
    "with a `listing` (or, for /predict, `listings`) key is this server's own dialect; any "
    "other JSON object is a flat listing of the original hand-built system's dialect (every "
    "field optional, absent ones imputed by the model and named in `imputed_fields`). "
    "GET /, /states, /predictions/history, /metrics/summary and POST /batch_predict are the "
    "original's routes; /health and /model carry both dialects' fields."
)


def _flat_listing(listing: dict[str, Any]) -> dict[str, Any]:
    """Our listing schema with every field optional and state/status nullable."""
    properties = dict(listing["properties"])
    states = properties["state"].get("enum")
    properties["state"] = {"type": ["string", "null"], **({"enum": [*states, None]} if states
                                                          else {})}  # fmt: skip
    properties["status"] = {"type": ["string", "null"], "enum": [*STATUSES, None]}
    return {
        "type": "object",
        "description": "A flat listing (original dialect): every field optional; an absent "
        "or null one is imputed the way the model was trained to (training median for a "
        "number, the encoder's missing category for state and status).",
        "additionalProperties": False,
        "properties": properties,
    }


def legacy_schemas(listing: dict[str, Any], max_batch: int) -> dict[str, Any]:
    string_list = {"type": "array", "items": {"type": "string"}}
    number_or_null = {"type": ["number", "null"]}
    model_ref = {
        "model_name": {"type": "string"},
        "model_version": {"type": "string"},
        "model_stage": {"type": "string", "description": "the registry alias served"},
        "model_run_id": {"type": "string"},
    }
    prediction = {
        "price": {"type": "number"},
        "price_low": number_or_null,
        "price_high": number_or_null,
        **model_ref,
        "features_used": string_list,
        "input_summary": {
            "type": "object",
            "description": "the listing as the model saw "
            "it: imputed numbers filled in, a missing state or status null",
        },
        "imputed_fields": {**string_list, "description": "features the request did not give"},
        "request_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    }
    explanation = {
        "price": {"type": "number"},
        "shap_values": {
            "type": "array",
            "items": {"type": "number"},
            "description": "in dollars, in feature_names order; base_value + "
            "their sum = price (within $1)",
        },
        "base_value": {"type": "number"},
        "feature_names": string_list,
        "feature_values": {"type": "array", "items": {"type": ["number", "string", "null"]}},
        **model_ref,
        "imputed_fields": string_list,
        "additivity_error": {"type": "number"},
        "request_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    }
    batch_item = {
        "type": "object",
        "required": ["input"],
        "properties": {
            "input": {},
            "price": {"type": "number"},
            "price_low": number_or_null,
            "price_high": number_or_null,
            "error": {"type": "string"},
        },
    }
    history_entry = {
        "type": "object",
        "required": ["request_id", "timestamp", "predicted_price", "model_version"],
        "properties": {
            "request_id": {"type": "string"},
            "timestamp": {"type": "string"},
            "endpoint": {"type": "string"},
            **{name: {} for name in listing["properties"]},
            "predicted_price": number_or_null,
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "response_time_ms": {"type": "number"},
        },
    }
    return {
        "FlatListing": _flat_listing(listing),
        "LegacyPrediction": {"type": "object", "required": list(prediction),
                             "properties": prediction},
        "LegacyExplanation": {"type": "object", "required": list(explanation),
                              "properties": explanation},
        # No maxItems: an oversized batch is answered 413 as the original's clients expect,
        # and an OpenAPI limit would make that a schema violation answered with a 4xx
        # other than 400.
        "LegacyBatchRequest": {
            "type": "array",
            "description": f"Flat listings, at most {max_batch} (MODEL_SERVER_MAX_BATCH; "
            "more: 413). An item that is not a valid flat listing gets its own error entry; "
            "the others are priced.",
            "items": {"description": "a FlatListing"},
        },
        "LegacyBatchResponse": {
            "type": "object",
            "required": ["predictions", "model_name", "model_version", "request_id"],
            "properties": {
                "predictions": {"type": "array", "items": batch_item},
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "request_id": {"type": ["string", "null"]},
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "model_loaded", "explainer_loaded", "database_connected"],
            "properties": {
                "status": {"enum": ["healthy", "degraded"],
                           "description": "healthy when a model is loaded, degraded if not"},
                "model_loaded": {"type": "boolean"},
                "explainer_loaded": {"type": "boolean"},
                "database_connected": {"type": "boolean",
                                       "description": "the prediction log's database answered"},
            },
        },
        "LegacyModelFields": {
            "type": "object",
            "required": [*model_ref, "model_loaded", "explainer_loaded", "available_states",
                         "feature_names"],
            "properties": {
                **model_ref,
                "model_loaded": {"type": "boolean"},
                "explainer_loaded": {"type": "boolean"},
                "available_states": string_list,
                "feature_names": string_list,
            },
        },
        "Service": {
            "type": "object",
            "required": ["service", "version", *model_ref, "model_loaded", "explainer_loaded",
                         "features"],
            "properties": {
                "service": {"type": "string"},
                "version": {"type": "string"},
                "model_name": {"type": "string"},
                "model_version": {"type": ["string", "null"]},
                "model_stage": {"type": "string"},
                "model_run_id": {"type": ["string", "null"]},
                "model_loaded": {"type": "boolean"},
                "explainer_loaded": {"type": "boolean"},
                "features": string_list,
                "openapi": {"type": "string"},
            },
        },
        "States": {
            "type": "object",
            "required": ["states"],
            "properties": {
                "states": {"type": "array", "items": {
                    "type": "object", "required": ["state", "avg_price"],
                    "properties": {"state": {"type": "string"}, "avg_price": {"type": "number"}},
                }},
                "note": {"type": "string", "description": "why the list is empty"},
            },
        },
        "History": {
            "type": "object",
            "required": ["predictions", "count", "limit"],
            "properties": {
                "predictions": {"type": "array", "items": history_entry},
                "count": {"type": "integer"},
                "limit": {"type": "integer"},
            },
        },
        "Summary": {
            "type": "object",
            "required": ["total_predictions", "avg_price", "min_price", "max_price",
                         "avg_response_time_ms", "unique_states", "model_versions_used",
                         "requests", "window_hours", "since", "truncated"],
            "properties": {
                "total_predictions": {"type": "integer"},
                "avg_price": number_or_null,
                "min_price": number_or_null,
                "max_price": number_or_null,
                "avg_response_time_ms": number_or_null,
                "unique_states": {"type": "integer"},
                "model_versions_used": {"type": "integer"},
                "requests": {"type": "integer"},
                "window_hours": {"type": "number"},
                "since": {"type": "string"},
                "truncated": {"type": "boolean"},
            },
        },
    }  # fmt: skip


def legacy_paths(error: dict, json_only: dict, not_ready: dict) -> dict[str, Any]:
    return {
        "/batch_predict": {
            "post": {
                "summary": "Price a JSON array of flat listings (original dialect)",
                "operationId": "batchPredict",
                "requestBody": json_body("LegacyBatchRequest"),
                "responses": {
                    "200": json_response(ref("LegacyBatchResponse"),
                                 "a price or an error per item, in order"),
                    "400": error,
                    "413": {**error, "description": "more listings than MODEL_SERVER_MAX_BATCH,"
                            " or a body over the size limit"},
                    **json_only, **not_ready,
                },
            }
        },
        "/": {
            "get": {
                "summary": "The service and the model it serves (original dialect)",
                "operationId": "service",
                "responses": {"200": json_response(ref("Service"), "always, model or not")},
            }
        },
        "/states": {
            "get": {
                "summary": "Mean training price per state of the served model, dearest first",
                "operationId": "states",
                "responses": {"200": json_response(ref("States"), "empty, with a note, when the "
                                           "model or its per-state prices are missing")},
            }
        },
        "/predictions/history": {
            "get": {
                "summary": "Newest priced listings, one entry each (original dialect); "
                "public like /predictions",
                "operationId": "predictionHistory",
                "parameters": [
                    {"name": "limit", "in": "query", "required": False,
                     "description": "entries wanted; more than 1000 is capped at 1000",
                     "schema": {"type": "integer", "minimum": 1, "default": 100}},
                    {"name": "state", "in": "query", "required": False,
                     "description": "only listings of this state (compared in code, never "
                     "pasted into SQL)", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": json_response(ref("History"), "newest first"),
                    "400": bad_limit_response(),
                },
            }
        },
        "/metrics/summary": {
            "get": {
                "summary": "Figures of the last 24 hours of logged predictions",
                "operationId": "metricsSummary",
                "responses": {"200": json_response(ref("Summary"), "from the prediction log")},
            }
        },
    }  # fmt: skip
