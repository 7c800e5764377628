"""A real Prometheus scrapes the real model server and web UI after real pipeline runs, and
every dashboard panel's query returns data (a wrong metric or label name fails here)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration

HIDDEN_LABELS = {"__name__", "instance", "job"}
DASHBOARDS = Path(__file__).resolve().parents[2] / "monitoring" / "dashboards"


def query(prometheus: str, expr: str) -> list[dict]:
    answer = requests.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=30)
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "success", (expr, body)
    return body["data"]["result"]


def panel_queries() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                found.append((path.stem, panel["title"], target["expr"]))
    return found


def test_every_target_is_up(prometheus):
    targets = requests.get(f"{prometheus}/api/v1/targets", timeout=30).json()["data"]
    health = {t["labels"]["job"]: t["health"] for t in targets["activeTargets"]}
    errors = {t["labels"]["job"]: t["lastError"] for t in targets["activeTargets"]}
    assert health == {"prometheus": "up", "model-server": "up", "pipeline": "up"}, errors


@pytest.mark.parametrize(("dashboard", "title", "expr"), panel_queries(), ids=lambda v: str(v)[:60])
def test_every_panel_query_returns_data(prometheus, dashboard, title, expr):
    result = query(prometheus, expr)
    assert result, f"{dashboard} / {title}: {expr} returned nothing"
    values = [float(sample["value"][1]) for sample in result]
    assert any(math.isfinite(v) for v in values), f"{dashboard} / {title}: {values}"


def test_the_figures_are_the_pipelines(prometheus):
    def one(expr: str) -> dict[str, float]:
        return {
            ",".join(
                f"{k}={v}" for k, v in sorted(s["metric"].items()) if k not in HIDDEN_LABELS
            ): float(s["value"][1])
            for s in query(prometheus, expr)
        }

    # Two runs with records, both succeeded; two batches of 4,000 rows stored and cleaned.
    assert one("house_prices_pipeline_runs") == {"state=success": 2.0, "state=failed": 0.0}
    assert one("house_prices_batches_stored") == {"day=Wednesday,group=3": 2.0}
    assert one("house_prices_rows_ingested") == {"day=Wednesday,group=3": 8000.0}
    # The second batch drifted in price; two versions exist, the first was promoted.
    assert one('house_prices_drift_detected{feature="price"}') == {"feature=price": 1.0}
    assert one("house_prices_dataset_drift") == {"": 1.0}
    decisions = one("house_prices_promotion_decisions")
    assert decisions["decision=promoted"] >= 1 and sum(decisions.values()) == 2
    steps = one("house_prices_pipeline_step_duration_seconds")
    assert {"task=ingest", "task=clean", "task=check_drift", "task=train", "task=promote"} <= set(
        steps
    )
    # The served version is the champion's.
    assert one("max(model_server_model_version)") == one("house_prices_champion_version")


def test_a_wrong_label_or_metric_returns_nothing(prometheus):
    """The panel check can fail: a misspelt label value or metric name gives no data."""
    assert query(prometheus, 'model_server_requests_total{endpoint="/predicts"}') == []
    assert query(prometheus, "house_prices_rows_ingest") == []
