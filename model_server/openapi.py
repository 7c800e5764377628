"""The OpenAPI 3.1 description of the API, built in code so limits match the running server.

The ``Listing`` schema is the served model's
:class:`~house_prices.listing_contract.ListingContract` (the same one validation enforces and
``GET /model`` reports); before a model is loaded it has no upper bounds and no state list.
The original system's dialect is described in :mod:`model_server.openapi_legacy`.
"""

from __future__ import annotations

from typing import Any

from house_prices.listing_contract import ListingContract
from model_server.openapi_legacy import DIALECT_RULE, legacy_paths, legacy_schemas
from model_server.openapi_parts import bad_limit_response, json_body, json_response, ref

__all__ = ["openapi_document"]


def _error(description: str) -> dict[str, Any]:
    return json_response(ref("Error"), description)


def _schemas(max_batch: int, contract: ListingContract) -> dict[str, Any]:
    model_ref = {
        "type": "object",
        "required": ["name", "version"],
        "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
    }
    number_or_null = {"type": ["number", "null"]}
    contribution = {
        "type": "object",
        "required": ["feature", "value", "contribution"],
        "properties": {
            "feature": {"type": "string"},
            "value": {"type": ["number", "string", "null"]},
            "contribution": {"type": "number"},
        },
    }
    explanation_properties = {
        "request_id": {"type": "string"},
        "model": ref("ModelRef"),
        "price": {"type": "number", "description": "base_value + sum of the contributions"},
        "price_low": number_or_null,
        "price_high": number_or_null,
        "base_value": {"type": "number"},
        "contributions": {"type": "array", "items": contribution},
        "additivity_error": {"type": "number"},
        "tolerance": {"type": "number"},
    }
    explanation_required = list(explanation_properties)
    listing = contract.json_schema()
    one_listing = {
        "type": "object",
        "required": ["listing"],
        "additionalProperties": False,
        "properties": {"listing": ref("Listing")},
    }
    return {
        **legacy_schemas(listing, max_batch),
        "Listing": listing,
        "ModelRef": model_ref,
        "PredictRequest": {
            "description": DIALECT_RULE,
            "oneOf": [
                ref("FlatListing"),
                one_listing,
                {
                    "type": "object",
                    "required": ["listings"],
                    "additionalProperties": False,
                    "properties": {
                        "listings": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": max_batch,
                            "items": ref("Listing"),
                        }
                    },
                },
            ]
        },
        "ExplainRequest": {
            "description": DIALECT_RULE,
            "oneOf": [
                ref("FlatListing"),
                one_listing,
            ],
        },
        "Prediction": {
            "type": "object",
            "required": ["price", "price_low", "price_high"],
            "properties": {
                "price": {"type": "number"},
                "price_low": number_or_null,
                "price_high": number_or_null,
            },
        },
        "PredictResponse": {
            "type": "object",
            "required": ["request_id", "model", "predictions"],
            "properties": {
                "request_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                "model": ref("ModelRef"),
                "predictions": {"type": "array", "items": ref("Prediction")},
            },
        },
        "Explanation": {
            "type": "object",
            "required": explanation_required,
            "properties": explanation_properties,
        },
        "StoredExplanation": {
            "type": "object",
            "required": [*explanation_required, "created_at"],
            "properties": {**explanation_properties, "created_at": {"type": "string"}},
        },
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "ModelInfo": {
            "type": "object",
            "required": ["name", "version", "alias", "run_id", "metrics", "training",
                         "features", "importance", "loaded_at"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "alias": {"type": "string"},
                "run_id": {"type": "string"},
                "metrics": {"type": "object", "additionalProperties": {"type": "number"}},
                "training": {"type": "object"},
                "features": {
                    "type": "object",
                    "required": ["numeric", "categorical"],
                    "properties": {
                        "numeric": {"type": "object"},
                        "categorical": {"type": "object"},
                    },
                },
                "importance": {"type": "object", "additionalProperties": {"type": "number"}},
                "loaded_at": {"type": "string"},
            },
        },
        "LoggedPrediction": {
            "type": "object",
            "required": ["request_id", "created_at", "inputs", "output", "model_version",
                         "latency_ms"],
            "properties": {
                "request_id": {"type": "string"},
                "created_at": {"type": "string"},
                "endpoint": {"type": "string"},
                "inputs": {"type": "array"},
                "output": {},
                "model_name": {"type": "string"},
                "model_version": {"type": "string"},
                "latency_ms": {"type": "number"},
            },
        },
    }  # fmt: skip


def openapi_document(max_batch: int, contract: ListingContract | None = None) -> dict[str, Any]:
    json_only = {"415": _error("the body is not sent as application/json")}
    not_ready = {"503": _error("no model is loaded yet")}
    invalid = {"400": _error("invalid JSON or invalid fields (messages per field)")}
    too_large = {"413": _error("the body exceeds the size limit")}
    paths = {
        "/predict": {
            "post": {
                "summary": "Price one listing or a batch",
                "operationId": "predict",
                "requestBody": json_body("PredictRequest"),
                "responses": {
                    "200": json_response(
                        {"anyOf": [ref("PredictResponse"), ref("LegacyPrediction")]},
                        "prices from the served model (LegacyPrediction for a flat listing)",
                    ),
                    **invalid, **too_large, **json_only, **not_ready,
                },
            }
        },
        "/explain": {
            "post": {
                "summary": "Price one listing and explain it with SHAP, in dollars",
                "operationId": "explain",
                "requestBody": json_body("ExplainRequest"),
                "responses": {
                    "200": json_response(
                        {"anyOf": [ref("Explanation"), ref("LegacyExplanation")]},
                        "price = base_value + contributions, with the spread /predict gives "
                        "(LegacyExplanation for a flat listing: price = base_value + "
                        "sum(shap_values))",
                    ),
                    **invalid, **too_large, **json_only, **not_ready,
                },
            }
        },
        "/explanations/{request_id}": {
            "get": {
                "summary": "The explanation of an earlier request, by the version that made it",
                "operationId": "explanation",
                "parameters": [
                    {"name": "request_id", "in": "path", "required": True,
                     "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": json_response(ref("StoredExplanation"), "the stored request explained"),
                    "404": _error("no such request id"),
                    "503": _error("the version that made it cannot be loaded now"),
                },
            }
        },
        "/predictions": {
            "get": {
                "summary": "Recent logged predictions, newest first",
                "operationId": "predictions",
                "parameters": [
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}},
                ],
                "responses": {
                    "200": json_response(
                        {"type": "object", "required": ["predictions"],
                         "properties": {"predictions": {"type": "array",
                                                        "items": ref("LoggedPrediction")}}},
                        "logged predictions",
                    ),
                    "400": bad_limit_response(),
                },
            }
        },
        "/reload": {
            "post": {
                "summary": "Load the version the champion alias points to now",
                "operationId": "reload",
                "security": [{"reloadToken": []}],
                "responses": {
                    "200": json_response(
                        {"type": "object", "required": ["status", "model"],
                         "properties": {"status": {"enum": ["reloaded", "unchanged"]},
                                        "model": ref("ModelRef")}},
                        "the champion is served",
                    ),
                    "401": _error("no bearer token"),
                    "403": _error("wrong bearer token, or reloading disabled"),
                    "503": _error("loading failed; the previous model keeps serving"),
                },
            }
        },
        "/health": {
            "get": {
                "summary": "Liveness: 200 while the process answers, with or without a model",
                "operationId": "health",
                "responses": {"200": json_response(ref("Health"), "the process lives")},
            }
        },
        "/ready": {
            "get": {
                "summary": "Readiness: a model is loaded",
                "operationId": "ready",
                "responses": {
                    "200": json_response(
                        {"type": "object", "required": ["status", "model"],
                         "properties": {"status": {"const": "ready"},
                                        "model": ref("ModelRef")}}, "ready"),
                    "503": json_response(
                        {"type": "object", "required": ["status", "reason"],
                         "properties": {"status": {"const": "not_ready"},
                                        "reason": {"type": "string"}}}, "no model loaded"),
                },
            }
        },
        "/model": {
            "get": {
                "summary": "The served model: version, metrics, training data, features",
                "operationId": "model",
                "responses": {
                    "200": json_response({"allOf": [ref("ModelInfo"), ref("LegacyModelFields")]},
                                 "the served model, in both dialects' fields"),
                    **not_ready,
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "responses": {"200": {"description": "Prometheus text format",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": json_response({"type": "object"}, "OpenAPI 3.1 document")},
            }
        },
        **legacy_paths(_error("invalid body"), json_only, not_ready),
    }  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "House price model server",
            "version": "1.0.0",
            "description": "Prices listings with the MLflow champion and explains them with "
            f"SHAP in dollars. {DIALECT_RULE}",
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(max_batch, contract or ListingContract.from_summary(None)),
            "securitySchemes": {"reloadToken": {"type": "http", "scheme": "bearer"}},
        },
    }
