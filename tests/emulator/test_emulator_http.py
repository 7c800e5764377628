"""The emulator as deployed: real gunicorn processes on a loopback port, called with requests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from data_api_emulator.app import DETAIL_EXHAUSTED, DETAIL_INVALID_GROUP

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATA_API_EMULATOR_")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], cwd: Path, port: int) -> Iterator[str]:
    log = (cwd / "server.log").open("w")
    proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited {proc.returncode}: {(cwd / 'server.log').read_text()}")
            try:
                if requests.get(f"{base}/health", timeout=20).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or worker still booting
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not healthy in 30 s: {(cwd / 'server.log').read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def gunicorn_server(tmp_path: Path) -> Iterator[str]:
    """The supervisor's command line: gunicorn on the app factory, settings from the env."""
    port = free_port()
    env = clean_env(
        DATA_API_EMULATOR_ROWS_PER_BATCH="2000",
        DATA_API_EMULATOR_BATCHES_PER_DAY="2",
        DATA_API_EMULATOR_MIN_INTERVAL_SECONDS="0",
        DATA_API_EMULATOR_SEED="99",
    )
    args = [
        sys.executable, "-m", "gunicorn", "data_api_emulator.app:create_app()",
        "-w", "1", "--threads", "4", "-b", f"127.0.0.1:{port}", "--no-control-socket",
    ]  # fmt: skip
    yield from start(args, env, tmp_path, port)


def test_contract_over_real_http(gunicorn_server: str) -> None:
    base = gunicorn_server
    params = {"group_number": 5, "day": "Tuesday"}
    first = requests.get(f"{base}/data", params=params, timeout=30)
    assert first.status_code == 200
    body = first.json()
    assert (body["group_number"], body["day"], body["batch_number"]) == (5, "Tuesday", 1)
    assert len(body["data"]) == 2000
    assert requests.get(f"{base}/data", params=params, timeout=30).json()["batch_number"] == 2
    exhausted = requests.get(f"{base}/data", params=params, timeout=30)
    assert exhausted.status_code == 400
    assert exhausted.json() == {"detail": DETAIL_EXHAUSTED}
    assert requests.get(f"{base}/restart_data_generation", params=params, timeout=30).ok
    again = requests.get(f"{base}/data", params=params, timeout=30).json()
    assert again["batch_number"] == 1 and again["data"] == body["data"]

    unknown = requests.get(f"{base}/data", params={"group_number": 11, "day": "Tuesday"})
    assert (unknown.status_code, unknown.json()) == (400, {"detail": DETAIL_INVALID_GROUP})
    path_style = requests.get(f"{base}/data/5/Tuesday", timeout=30)
    assert path_style.status_code == 400 and "query parameters" in path_style.json()["detail"]

    metrics = requests.get(f"{base}/metrics", timeout=30)
    assert metrics.status_code == 200
    assert metrics.headers["Content-Type"].startswith("text/plain")
    assert 'data_api_emulator_batches_served_total{day="Tuesday",group="5"} 3.0' in metrics.text


def test_cli_serves_under_gunicorn(tmp_path: Path) -> None:
    port = free_port()
    args = [
        sys.executable, "-m", "data_api_emulator", "--port", str(port), "--rows-per-batch", "30",
        "--groups", "3", "--min-interval-seconds", "300",
    ]  # fmt: skip
    for base in start(args, clean_env(), tmp_path, port):
        # No response object outlives the server: one still holding its keep-alive
        # connection would hold gunicorn's graceful shutdown for 15 s.
        health = requests.get(f"{base}/health", timeout=10).json()
        assert health["rows_per_batch"] == 30 and health["groups"] == [3]
        params = {"group_number": 3, "day": "Sunday"}
        numbers = [
            requests.get(f"{base}/data", params=params, timeout=10).json()["batch_number"]
            for _ in range(3)
        ]
        assert numbers == [1, 1, 1]
    assert "Booting worker" in (tmp_path / "server.log").read_text()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--csv", "/nonexistent.csv"], {}, "csv_path '/nonexistent.csv' is not a readable file"),
        ([], {"DATA_API_EMULATOR_ROWS_PER_BATCH": "many"}, "ROWS_PER_BATCH='many'"),
        ([], {"DATA_API_EMULATOR_PORT": "70000"}, "DATA_API_EMULATOR_PORT='70000'"),
    ],
)
def test_cli_refuses_bad_settings(args: list[str], env: dict[str, str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "data_api_emulator", *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_cli_prints_the_effective_config() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "data_api_emulator", "--print-config", "--seed", "5"],
        env=clean_env(DATA_API_EMULATOR_GROUPS="2,4"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert '"seed": 5' in result.stdout and '"groups": [\n    2,\n    4\n  ]' in result.stdout
