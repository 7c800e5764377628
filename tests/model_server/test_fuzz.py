"""Schemathesis fuzzes the running server from its own /openapi.json: no 5xx, responses match.

Runs every schemathesis check (server errors, status codes, response schemas, content types,
auth handling, positive/negative data acceptance) with a bounded number of examples.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testsupport.model_server import TOKEN

pytestmark = pytest.mark.integration


def test_schemathesis_finds_no_server_error(gunicorn_factory, mlflow_server, tmp_path):
    server = gunicorn_factory({"MLFLOW_TRACKING_URI": mlflow_server.url})
    server.wait_ready()
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{server.url}/openapi.json",
        "--checks", "all",
        "--max-examples", "15",
        "--max-time", "75",
        "--seed", "20261126",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--header", f"Authorization: Bearer {TOKEN}",
        "--no-color",
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-6000:]
    assert "14 selected / 14 total" in report  # 9 of ours, 5 of the original dialect
    assert " passed" in report
    assert "Traceback" not in server.log()
