"""Status: health of every service, and the operator's reload action."""

from __future__ import annotations

import secrets

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from web import charts, figures
from web.clients import ServiceUnavailable, probe
from web.views import config, model_server
from web.views.metrics import pipeline_registry

bp = Blueprint("status", __name__, url_prefix="/status")


@bp.get("")
def index():
    settings = config()
    # The platform's services are verified against the appliance CA (PLATFORM_CA_FILE); the
    # data API is an outside service with public trust.
    verify = settings.platform_verify
    services = [
        probe("Model server (live)", f"{settings.model_server_url}/health", verify=verify),
        probe(
            "Model server (ready: a model is loaded)",
            f"{settings.model_server_url}/ready",
            verify=verify,
        ),
        probe("MLflow", f"{settings.mlflow_url}/health", verify=verify),
        probe("Airflow", f"{settings.airflow_url}/api/v2/monitor/health", verify=verify),
        probe("Data API", f"{settings.data_api_url}/health"),
    ]
    return render_template(
        "status/index.html",
        services=services,
        serving=_draw(figures.serving_charts(settings.model_server_url, verify=verify)),
        pipeline=_draw(figures.pipeline_charts(pipeline_registry())),
        operator=session.get("operator", False),
        operator_enabled=bool(settings.operator_token),
    )


_FORMATS = {
    "count": lambda v: f"{v:,.0f}",
    "seconds": lambda v: f"{v * 1000:,.0f} ms" if v < 1 else f"{v:,.1f} s",
    "statistic": lambda v: f"{v:.3f}",
    "dollars": charts.dollars,
}


def _draw(found: list[figures.Chart]) -> list[str]:
    return [charts.bar_chart(rows, title, fmt=_FORMATS[unit]) for title, rows, unit in found]


@bp.post("/login")
def login():
    """Unlock operator actions with the operator token (WEB_OPERATOR_TOKEN)."""
    expected = config().operator_token
    if expected and secrets.compare_digest(request.form.get("token", ""), expected):
        session["operator"] = True
        flash("Operator actions unlocked.", "ok")
    else:
        flash("That token is not the operator token.", "error")
    return redirect(url_for("status.index"))


@bp.post("/logout")
def logout():
    session.pop("operator", None)
    return redirect(url_for("status.index"))


@bp.post("/reload")
def reload():
    """Ask the model server to load the champion now (operators only)."""
    if not session.get("operator"):
        flash("Only an operator can reload the model: log in with the operator token.", "error")
        return redirect(url_for("status.index"))
    try:
        answer = model_server().reload()
    except ServiceUnavailable as exc:
        flash(f"Reload failed: {exc.detail}", "error")
    else:
        flash(
            f"Model server {answer['status']}: serving version {answer['model']['version']}.", "ok"
        )
    return redirect(url_for("status.index"))
