"""Monitoring fixtures: the pipeline run by Airflow, the model server and web UI serving its
results, and a real Prometheus (the Debian package) scraping them with the rendered config."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import requests

from monitoring import render
from testsupport import servers
from testsupport.airflow import run_dag
from testsupport.model_server import LISTING, TOKEN, Gunicorn
from testsupport.servers import DRIFTING_BATCHES, emulator

CONF = {"group_number": 3, "day": "Wednesday"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pipeline_env(airflow_env, tmp_path_factory):
    """Two DAG runs: batch 1 trains the first champion, batch 2 (prices up 60 %) drifts."""
    # This checkout's code in every subprocess (the venv may hold another checkout's package).
    env = {**airflow_env, "PYTHONPATH": str(REPO)}
    with emulator(tmp_path_factory.mktemp("emulator"), **DRIFTING_BATCHES) as data_api:
        run_dag(env, data_api, CONF)
        run_dag(env, data_api, CONF)
    return env


@pytest.fixture(scope="module")
def model_server(pipeline_env, tmp_path_factory):
    """The model server under gunicorn (two workers), serving the pipeline's champion."""
    server = Gunicorn(tmp_path_factory.mktemp("model-server"), pipeline_env)
    server.wait_ready()
    yield server
    server.terminate(timeout=30)


@pytest.fixture(scope="module")
def web_ui(pipeline_env, model_server, tmp_path_factory):
    """The web UI under gunicorn; its /metrics reports what the pipeline stored."""
    port = servers.free_port()
    env = {**pipeline_env, "MODEL_SERVER_URL": model_server.url}
    command = servers.gunicorn_command("web.wsgi:app", port, workers=2)
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("web") / "web.log"
    with servers.serve(command, f"{url}/health", log, env):
        # The first read of each worker's collector blocks (later ones answer the last result).
        for _ in range(6):
            answer = requests.get(f"{url}/metrics", timeout=120)
            assert answer.status_code == 200, log.read_text()[-3000:]
        yield url


def _traffic(model_server_url: str, seconds: float) -> None:
    """Valid and invalid predictions, explanations and a reload for `seconds`."""
    features = requests.get(f"{model_server_url}/model", timeout=30).json()["features"]
    listing = {
        **LISTING,
        **{name: bounds["median"] for name, bounds in features["numeric"].items()},
        "state": features["categorical"]["state"][0],
    }
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        good = requests.post(f"{model_server_url}/predict", json={"listing": listing}, timeout=30)
        assert good.status_code == 200, (listing, good.text)
        bad = requests.post(
            f"{model_server_url}/predict", json={"listing": {"bed": -1}}, timeout=30
        )
        assert bad.status_code == 400
        requests.post(
            f"{model_server_url}/explain", json={"listing": listing}, timeout=30
        ).raise_for_status()
    requests.post(
        f"{model_server_url}/reload", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    ).raise_for_status()


@pytest.fixture(scope="module")
def prometheus(model_server, web_ui, tmp_path_factory):
    """Prometheus with the rendered config and rules, after a few seconds of traffic."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus missing: run scripts/system-packages.sh"
    workdir: Path = tmp_path_factory.mktemp("prometheus")
    port = servers.free_port()
    targets = {
        "model-server": model_server.url.removeprefix("http://"),
        "pipeline": web_ui.removeprefix("http://"),
    }
    config = render.write_config(workdir, targets, f"127.0.0.1:{port}", interval="2s")
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    with servers.serve(command, f"{url}/-/ready", workdir / "prometheus.log"):
        _traffic(model_server.url, seconds=12)
        time.sleep(5)  # the last scrapes after the traffic
        yield url
