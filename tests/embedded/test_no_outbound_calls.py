"""The "phone nowhere" switches: set in both runtimes, and still the ones the libraries read.

tests/integration/test_no_outbound_calls.py proves it on a running embedded platform.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "embedded"))
from platform_env import NO_OUTBOUND_CALLS, environment  # noqa: E402
from services import urls  # noqa: E402


def _image_env() -> dict[str, str]:
    """ENV of the final stage of containers/Containerfile."""
    final_stage = (REPO / "containers" / "Containerfile").read_text().rsplit("\nFROM ", 1)[1]
    env: dict[str, str] = {}
    for block in re.findall(r"^ENV (.*?)(?<!\\)\n", final_stage, re.S | re.M):
        for pair in block.replace("\\\n", " ").split():
            key, value = pair.split("=", 1)
            env[key] = value
    return env


def test_the_embedded_environment_turns_every_switch_off(tmp_path):
    env = environment(tmp_path, {}, urls(), "/usr/bin")
    assert {key: env[key] for key in NO_OUTBOUND_CALLS} == NO_OUTBOUND_CALLS


def test_the_app_image_turns_every_switch_off():
    """Every container of the cluster (MLflow, Airflow and task pods, model server, web UI)."""
    env = _image_env()
    assert "AIRFLOW_HOME" in env  # the parser found the final stage's ENV
    assert {key: env.get(key) for key in NO_OUTBOUND_CALLS} == NO_OUTBOUND_CALLS


def test_mlflow_reads_the_switch_as_telemetry_off(monkeypatch):
    from mlflow.environment_variables import MLFLOW_DISABLE_TELEMETRY

    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    assert MLFLOW_DISABLE_TELEMETRY.get() is False
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", NO_OUTBOUND_CALLS["MLFLOW_DISABLE_TELEMETRY"])
    assert MLFLOW_DISABLE_TELEMETRY.get() is True


def test_installed_airflow_has_no_usage_data_collection_to_turn_off():
    """Airflow 2.10 to 3.0 reported usage to Scarf unless [usage_data_collection] enabled=False.

    If an upgrade brings such a section back, set it off in both runtimes (the embedded
    environment and the airflow-config ConfigMap) and update this test.
    """
    import airflow.config_templates

    template = Path(airflow.config_templates.__file__).parent / "config.yml"
    sections = yaml.safe_load(template.read_text())
    assert "usage_data_collection" not in sections
    assert not [name for name in sections if "telemetry" in name or "usage" in name]
    assert "scarf" not in template.read_text().lower()
