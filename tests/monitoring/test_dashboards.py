"""The dashboard JSON's structure (no Grafana here: what Grafana's provisioning needs, checked
by hand). Their queries are checked against a real Prometheus in test_prometheus_scrape.py."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
DASHBOARDS = sorted((MONITORING / "dashboards").glob("*.json"))
PANEL_TYPES = {"timeseries", "stat", "bargauge", "gauge", "table"}
DATASOURCE_UID = yaml.safe_load((MONITORING / "grafana-datasource.yml").read_text())["datasources"][
    0
]["uid"]


def problems(dashboard: dict) -> list[str]:
    """What would make Grafana refuse or misdraw a provisioned dashboard."""
    found = []
    for key in ("uid", "title", "panels", "schemaVersion"):
        if key not in dashboard:
            found.append(f"no {key}")
    ids, cells = set(), set()
    for panel in dashboard.get("panels", []):
        where = f"panel {panel.get('title')!r}"
        if panel.get("id") in ids:
            found.append(f"{where}: duplicate id")
        ids.add(panel.get("id"))
        if panel.get("type") not in PANEL_TYPES:
            found.append(f"{where}: type {panel.get('type')!r}")
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")):
            found.append(f"{where}: gridPos")
        elif grid["x"] + grid["w"] > 24:
            found.append(f"{where}: wider than the 24-column grid")
        else:
            cell = {
                (grid["y"] + dy, grid["x"] + dx)
                for dy in range(grid["h"])
                for dx in range(grid["w"])
            }
            if cell & cells:
                found.append(f"{where}: overlaps another panel")
            cells |= cell
        if panel.get("datasource", {}).get("uid") != DATASOURCE_UID:
            found.append(f"{where}: data source is not the provisioned one")
        targets = panel.get("targets") or []
        if not targets:
            found.append(f"{where}: no query")
        ref_ids = [t.get("refId") for t in targets]
        if len(set(ref_ids)) != len(ref_ids):
            found.append(f"{where}: duplicate refId")
        for target in targets:
            if not str(target.get("expr", "")).strip():
                found.append(f"{where}: empty expr")
            if target.get("datasource", {}).get("uid") != DATASOURCE_UID:
                found.append(f"{where}: query data source is not the provisioned one")
    return found


def test_three_dashboards_with_distinct_uids():
    loaded = [json.loads(path.read_text()) for path in DASHBOARDS]
    assert sorted(d["title"] for d in loaded) == ["Pipeline", "Platform", "Serving"]
    assert len({d["uid"] for d in loaded}) == 3


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_structure(path):
    assert problems(json.loads(path.read_text())) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["panels"][1].update(id=d["panels"][0]["id"]),
        lambda d: d["panels"][0]["targets"][0].update(expr=" "),
        lambda d: d["panels"][0].update(datasource={"uid": "other"}),
        lambda d: d["panels"][1].update(gridPos=dict(d["panels"][0]["gridPos"])),
        lambda d: d.pop("uid"),
        lambda d: d["panels"][0].update(type="graph-old"),
    ],
)
def test_structure_check_catches_a_broken_dashboard(mutate):
    dashboard = copy.deepcopy(json.loads(DASHBOARDS[0].read_text()))
    mutate(dashboard)
    assert problems(dashboard)


def test_dashboard_provider_points_at_the_mounted_directory():
    (provider,) = yaml.safe_load((MONITORING / "grafana-dashboards.yml").read_text())["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
