"""House-price web UI: a server-rendered Flask app that draws the model's explanations.

It talks to the model server over its JSON API (it never loads a model) and reads model
history from MLflow. Pages: Predict (with the SHAP waterfall), Compare locations, Models,
Status. Run: ``gunicorn --no-control-socket -b 127.0.0.1:8501 web.wsgi:app``.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, abort, jsonify, render_template, request, session

from web.clients import ServiceUnavailable
from web.config import WebConfig
from web.security import LoginThrottle, install

__all__ = ["create_app"]


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def create_app(config: WebConfig | None = None) -> Flask:
    """Build the app; ``config`` defaults to :meth:`WebConfig.from_env`."""
    config = config or WebConfig.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        WEB=config,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        MAX_CONTENT_LENGTH=config.max_body_bytes,
    )
    app.jinja_env.globals["csrf_token"] = _csrf_token

    @app.before_request
    def check_csrf() -> None:
        if request.method == "POST":
            sent = request.form.get("csrf_token", "")
            if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
                abort(400, "the form expired or did not come from this site: reload the page")

    @app.errorhandler(ServiceUnavailable)
    def service_down(error: ServiceUnavailable) -> Any:
        hint = {
            "model server": "Start it (./appliance up) or check MODEL_SERVER_URL; predictions "
            "need it, and it needs a champion model in MLflow.",
            "MLflow": "Start it (./appliance up) or check MLFLOW_TRACKING_URI.",
        }.get(error.service, "Check that it runs.")
        if _wants_json():
            return jsonify(error="unavailable", message=str(error)), 503
        return render_template(
            "error.html",
            code=503,
            title=f"The {error.service} is not answering",
            message=error.detail,
            hint=hint,
        ), 503

    def http_error(error: Any) -> Any:
        code = getattr(error, "code", 500) or 500
        message = getattr(error, "description", "unexpected error")
        if _wants_json():
            return jsonify(error="http_error", message=message), code
        return render_template(
            "error.html", code=code, title=f"Error {code}", message=message, hint=""
        ), code

    for code in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(code, http_error)

    install(app, LoginThrottle(config.login_failures, config.login_window_seconds))

    @app.get("/health")
    def health() -> Any:
        return jsonify(status="ok")

    from web.views import compare, metrics, models, predict, status

    for module in (predict, compare, models, status, metrics):
        app.register_blueprint(module.bp)
    return app
