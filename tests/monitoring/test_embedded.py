"""The embedded runtime's Prometheus program: written only when a prometheus binary exists,
with loopback targets and the same rule file as the cluster."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from monitoring import render

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "embedded"))
from prometheus_program import supervisor_program

PORTS = {"model_server": 18800, "web_ui": 18501, "mlflow": 15000, "prometheus": 19090}


def test_no_binary_no_program(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert supervisor_program(tmp_path, PORTS) == ""
    assert not (tmp_path / "prometheus").exists()


def test_program_scrapes_loopback_targets_with_the_shared_rules(tmp_path):
    binary = shutil.which("prometheus")
    assert binary, "prometheus missing: run scripts/system-packages.sh"
    section = supervisor_program(tmp_path, PORTS)
    assert section.lstrip().startswith("[program:prometheus]")
    assert "--web.listen-address=127.0.0.1:19090" in section
    config = tmp_path / "prometheus" / "prometheus.yml"
    scrape = yaml.safe_load(config.read_text())["scrape_configs"]
    assert {job["job_name"]: job["static_configs"][0]["targets"] for job in scrape} == {
        "prometheus": ["127.0.0.1:19090"],
        "model-server": ["127.0.0.1:18800"],
        "pipeline": ["127.0.0.1:18501"],
        "mlflow": ["127.0.0.1:15000"],
    }
    rules = (tmp_path / "prometheus" / render.RULES_FILE).read_text()
    assert rules == render.render_alert_rules()
    promtool = shutil.which("promtool")
    proc = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
