"""Models: the champion, the history of versions and decisions, drift, importance.

Reads MLflow over its REST API with :mod:`house_prices.mlflow_rest` (no mlflow import: the UI
stays light) and the model server's ``GET /model``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from house_prices import run_documents
from house_prices.mlflow_rest import MlflowRest, MlflowUnavailable
from web import charts
from web.clients import ServiceUnavailable
from web.views import config, model_server

bp = Blueprint("models", __name__, url_prefix="/models")


def _mlflow(route: str, **params: Any) -> Any:
    """The JSON of ``GET route`` on MLflow, None when it does not exist."""
    settings = config()
    reader = MlflowRest(
        settings.mlflow_url.rstrip("/"),
        settings.mlflow_username,
        settings.mlflow_password,
        settings.timeout,
        settings.mlflow_ca_file or True,
    )
    try:
        return reader.get_json(route, **params)
    except MlflowUnavailable as exc:
        raise ServiceUnavailable("MLflow", reader.url, exc.detail) from exc


def versions(name: str) -> list[dict[str, Any]]:
    """Every version, newest first, with its tags as a dict."""
    body = (
        _mlflow("/api/2.0/mlflow/model-versions/search", filter=f"name='{name}'", max_results=200)
        or {}
    )
    rows = [
        {**mv, "tags": {t["key"]: t["value"] for t in mv.get("tags", [])}}
        for mv in body.get("model_versions", [])
    ]
    return sorted(rows, key=lambda mv: int(mv["version"]), reverse=True)


def drift_report(run_id: str) -> dict | None:
    return _mlflow("/get-artifact", path=run_documents.DRIFT_REPORT, run_uuid=run_id)


def drift_chart(report: dict) -> str | None:
    features = report.get("features") or {}
    rows = [
        (name, float(result["statistic"]))
        for name, result in features.items()
        if "statistic" in result
    ]
    if not rows:
        return None
    drifted = set(report.get("drifted_features", []))
    threshold = (report.get("thresholds") or {}).get("ks_statistic")
    return charts.bar_chart(
        rows,
        title="Drift statistic per feature (KS or Jensen-Shannon); red: drifted",
        fmt=lambda v: f"{v:.3f}",
        threshold=threshold,
        highlight=drifted,
    )


@bp.get("")
def index():
    """Champion, history with decisions and reasons, recent drift reports, importance."""
    settings = config()
    history = versions(settings.model_name)
    model = model_server().model()
    importance = model.get("importance") or {}
    importance_chart = (
        charts.bar_chart(
            list(importance.items()), "Mean |SHAP| per feature (global importance of the champion)"
        )
        if importance
        else None
    )
    drifts = []
    for version in history[:5]:
        report = drift_report(version["run_id"])
        if report and report.get("features"):
            drifts.append(
                {"version": version["version"], "report": report, "chart": drift_chart(report)}
            )
    return render_template(
        "models/index.html",
        model=model,
        history=history,
        drifts=drifts,
        importance_chart=importance_chart,
    )
