"""One JSON error shape everywhere: {"error": code, "message": text, "fields": {...}}."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from model_server.validation import ValidationFailed

__all__ = ["ApiError", "error_response", "register_error_handlers"]

_log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
    503: "not_ready",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, fields: dict | None = None, headers=None):
    body = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.errorhandler(ValidationFailed)
    def _invalid(exc: ValidationFailed):
        code = "validation_error" if exc.fields else "bad_request"
        return error_response(exc.status, code, exc.message, exc.fields)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        headers = {}
        if status == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        return error_response(
            status, CODES.get(status, "error"), exc.description or "", None, headers
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        _log.exception("unhandled error")
        return error_response(500, "internal_error", f"{type(exc).__name__}: {exc}")
