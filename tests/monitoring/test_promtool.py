"""promtool on the rendered files: configuration, rules, and a unit test for every alert."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from monitoring import render

HERE = Path(__file__).resolve().parent
PROMTOOL = shutil.which("promtool") or "promtool-missing:run-scripts/system-packages.sh"


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def rule_dir(tmp_path: Path, **overrides) -> Path:
    (tmp_path / render.RULES_FILE).write_text(render.render_alert_rules(**overrides))
    shutil.copy(HERE / "alerts.test.yml", tmp_path / "alerts.test.yml")
    return tmp_path


def alert_names(rules_text: str) -> set[str]:
    groups = yaml.safe_load(rules_text)["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_rules_pass_promtool_check(tmp_path):
    proc = promtool("check", "rules", render.RULES_FILE, cwd=rule_dir(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 6 rules found" in proc.stdout


def test_every_alert_has_a_promtool_unit_test(tmp_path):
    tests = yaml.safe_load((HERE / "alerts.test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    firing = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    names = alert_names(render.render_alert_rules())
    assert names == {
        "TargetDown",
        "ModelServerErrors",
        "ModelServerSlow",
        "PipelineRunFailed",
        "DriftDetected",
        "NoNewBatch",
    }
    assert tested == names and firing == names
    proc = promtool("test", "rules", "alerts.test.yml", cwd=rule_dir(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "overrides",
    [
        {"error_ratio": 0.2},
        {"p99_seconds": 10},
        {"no_batch_seconds": 7200},
        {"target_down_for": "10m"},
    ],
)
def test_the_unit_tests_catch_a_changed_threshold(tmp_path, overrides):
    proc = promtool("test", "rules", "alerts.test.yml", cwd=rule_dir(tmp_path, **overrides))
    assert proc.returncode != 0, f"promtool test rules passed with {overrides}"


def test_embedded_config_passes_promtool_check(tmp_path):
    config = render.write_config(
        tmp_path,
        {"model-server": "127.0.0.1:8800", "pipeline": "127.0.0.1:8501"},
        "127.0.0.1:9090",
    )
    proc = promtool("check", "config", str(config), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    scrape = yaml.safe_load(config.read_text())["scrape_configs"]
    assert {job["job_name"]: job["static_configs"][0]["targets"] for job in scrape} == {
        "prometheus": ["127.0.0.1:9090"],
        "model-server": ["127.0.0.1:8800"],
        "pipeline": ["127.0.0.1:8501"],
    }


def test_broken_config_is_refused_by_promtool(tmp_path):
    config = render.write_config(tmp_path, {"model-server": "127.0.0.1:8800"}, "127.0.0.1:9090")
    config.write_text(config.read_text().replace("scrape_interval: 30s", "scrape_interval: 30"))
    assert promtool("check", "config", str(config), cwd=tmp_path).returncode != 0
