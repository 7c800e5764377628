"""Pieces both OpenAPI documents (ours and the original dialect's) are built from."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(schema: dict, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(schema_name: str) -> dict[str, Any]:
    """A required JSON request body of the named schema."""
    return {"required": True, "content": {"application/json": {"schema": ref(schema_name)}}}


def bad_limit_response() -> dict[str, Any]:
    """The 400 of a log-reading route: a bad ``limit``, or gunicorn refusing a long line."""
    return {
        "description": "invalid limit (JSON), or a request line over 8190 "
        "bytes (gunicorn answers that one in HTML)",
        "content": {
            "application/json": {"schema": ref("Error")},
            "text/html": {"schema": {"type": "string"}},
        },
    }
