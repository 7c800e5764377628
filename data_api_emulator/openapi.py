"""OpenAPI 3.1 description of the emulator's contract, served at ``/openapi.json``.

FastAPI servers (the real one included) publish such a document; clients and contract
tests (schemathesis) can read the emulator's the same way.
"""

from __future__ import annotations

from typing import Any

from data_api_emulator.generator import COLUMNS, DAYS
from data_api_emulator.wire import ENVELOPE

__all__ = ["openapi_document"]

_NUMBER_OR_TEXT = {"type": ["number", "string", "null"]}
_TEXT = {"type": ["string", "null"]}

_RECORD: dict[str, Any] = {
    "type": "object",
    "description": "One listing (realtor.com layout). Numbers may arrive as strings, zip "
    "codes as numbers, and any field may be null: clean before use.",
    "required": list(COLUMNS),
    "properties": {
        "brokered_by": _NUMBER_OR_TEXT,
        "status": _TEXT,
        "price": _NUMBER_OR_TEXT,
        "bed": _NUMBER_OR_TEXT,
        "bath": _NUMBER_OR_TEXT,
        "acre_lot": _NUMBER_OR_TEXT,
        "street": _NUMBER_OR_TEXT,
        "city": _TEXT,
        "state": _TEXT,
        "zip_code": _NUMBER_OR_TEXT,
        "house_size": _NUMBER_OR_TEXT,
        "prev_sold_date": _TEXT,
    },
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, ref: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def openapi_document(groups: tuple[int, ...]) -> dict[str, Any]:
    """The OpenAPI document for an emulator serving ``groups``."""
    params = [
        {
            "name": "group_number",
            "in": "query",
            "required": True,
            "schema": {"type": "integer", "enum": list(groups)},
        },
        {"name": "day", "in": "query", "required": True, "schema": {"enum": list(DAYS)}},
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "House-listing data API (local emulator)",
            "version": "1.0.0",
            "description": "Batches of realtor.com-style listings per group and weekday. "
            "The batch number advances at most once per minimum interval; after the last "
            "batch /data answers 400 'Ya se recolectó toda la información minima necesaria'. "
            "Batches of one group and day overlap, as the real server samples them from one "
            "pool: from batch 2 on, a share of the rows (repeat_share in /health) re-serves "
            "listings of earlier batches, as exact copies or with the same address and a new "
            "price or status.",
        },
        "paths": {
            "/data": {
                "get": {
                    "operationId": "read_data",
                    "summary": "The current batch of the group and day",
                    "parameters": params,
                    "responses": {
                        "200": _json("A batch", "Batch"),
                        "400": _error("Invalid parameters, unknown group, or all batches taken"),
                    },
                }
            },
            "/restart_data_generation": {
                "get": {
                    "operationId": "restart_data",
                    "summary": "Start the group and day over at batch 1",
                    "parameters": params,
                    "responses": {
                        "200": _json("Restarted", "Restarted"),
                        "400": _error("Invalid parameters or unknown group"),
                    },
                }
            },
            "/health": {
                "get": {
                    "operationId": "get_health",
                    "responses": {"200": _json("Alive", "Health")},
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "get_metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Record": _RECORD,
                "Batch": {
                    "type": "object",
                    "required": list(ENVELOPE),
                    "properties": {
                        "group_number": {"type": "integer"},
                        "day": {"enum": list(DAYS)},
                        "batch_number": {"type": "integer", "minimum": 1},
                        "data": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
                    },
                },
                "Restarted": {
                    "type": "object",
                    "required": ["status", "group_number", "day"],
                    "properties": {
                        "status": {"const": "ok"},
                        "group_number": {"type": "integer"},
                        "day": {"enum": list(DAYS)},
                        "detail": {"type": "string"},
                    },
                },
                "Health": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "status": {"const": "ok"},
                        "repeat_share": {"type": "number", "minimum": 0, "maximum": 1},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["detail"],
                    "properties": {"detail": {"type": "string"}},
                },
            }
        },
    }
