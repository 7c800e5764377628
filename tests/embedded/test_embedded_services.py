"""The embedded launcher's table of services agrees with its supervisord configuration."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

EMBEDDED = Path(__file__).resolve().parents[2] / "embedded"
sys.path.insert(0, str(EMBEDDED))
import services  # noqa: E402 (embedded/ is a directory of scripts, not a package)


def test_every_port_variable_and_program_of_the_template_is_in_the_table():
    template = (EMBEDDED / "supervisord.conf.template").read_text()
    placeholders = set(re.findall(r"\$(\w+)_port\b", template))
    programs = set(re.findall(r"^\[program:([\w-]+)\]", template, re.MULTILINE))
    names = {service.name for service in services.SERVICES}
    assert placeholders <= names
    # Prometheus's program is added by prometheus_program.py when the OS has the binary.
    waited = {s.program for s in services.SERVICES if s.health_path}
    assert waited <= programs
    assert {s.program for s in services.SERVICES} - programs == {"prometheus"}


def test_ports_come_from_the_table_or_the_environment():
    defaults = services.ports({})
    assert defaults == {s.name: s.port for s in services.SERVICES}
    moved = services.ports({"APPLIANCE_WEB_UI_PORT": "9501"})
    assert moved["web_ui"] == 9501 and moved["mlflow"] == defaults["mlflow"]
    assert services.urls({"APPLIANCE_MLFLOW_PORT": "5050"})["mlflow"] == "http://127.0.0.1:5050"
    for bad in ("abc", "0", "70000"):
        with pytest.raises(SystemExit, match=f"APPLIANCE_MLFLOW_PORT='{bad}': give a TCP port"):
            services.ports({"APPLIANCE_MLFLOW_PORT": bad})


def test_the_state_directory_can_be_moved(tmp_path):
    assert services.state_dir({"APPLIANCE_STATE": str(tmp_path)}) == tmp_path.resolve()
    assert services.state_dir({}) == (EMBEDDED.parent / ".state").resolve()
