"""Fixtures: a real MLflow server with two registered versions, the app, and real gunicorn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from house_prices import registry
from house_prices.settings import Settings
from model_server import create_app
from model_server.auth import parse_keys
from model_server.config import ServerConfig
from tests.model_server.mlflow_support import (
    free_port,
    register_versions,
    start_mlflow,
    stop_process,
    wait_http,
)

TOKEN = "test-reload-token-5f1c"
CLIENT_KEY = "client-key-0123456789abcdef"
OPERATOR_KEY = "operator-key-0123456789abcdef"
API_KEYS = f"scripts:client:{CLIENT_KEY},ops:operator:{OPERATOR_KEY}"
REPO = Path(__file__).resolve().parents[2]
LISTING = {
    "bed": 3,
    "bath": 2,
    "acre_lot": 0.25,
    "house_size": 1850,
    "state": "Texas",
    "status": "for_sale",
}


@dataclass
class MlflowServer:
    url: str
    settings: Settings
    versions: list[str]

    def set_champion(self, version: str) -> None:
        client = registry.connect(self.url)
        client.set_registered_model_alias(
            self.settings.model_name, registry.CHAMPION_ALIAS, version
        )


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> MlflowServer:
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    workdir = tmp_path_factory.mktemp("mlflow")
    process, url = start_mlflow(workdir / "server")
    try:
        settings = Settings(
            storage_root=workdir / "objects",
            mlflow_tracking_uri=url,
            model_server_reload_token=TOKEN,
        )
        versions = register_versions(settings, count=2)
        yield MlflowServer(url, settings, versions)
    finally:
        stop_process(process)


@pytest.fixture
def champion(mlflow_server):
    """Tests that move the alias get it back on version 1 afterwards."""
    yield mlflow_server
    mlflow_server.set_champion(mlflow_server.versions[0])


@pytest.fixture(scope="module", params=["auth-off", "auth-on"])
def app(request, mlflow_server, tmp_path_factory):
    """The app with API keys off (the embedded default) and on (the cluster default)."""
    auth = request.param == "auth-on"
    config = ServerConfig(
        settings=mlflow_server.settings,
        state_dir=tmp_path_factory.mktemp("server-state"),
        auth_enabled=auth,
        api_keys=parse_keys(API_KEYS) if auth else (),
    )
    application = create_app(config, start_background=False)
    state = application.extensions["model_server"]
    state.log.start()
    assert state.holder.reload() == "reloaded"
    yield application
    state.close()


@pytest.fixture
def client(app):
    """A test client; with API keys on, it sends the operator key on every request."""
    test_client = app.test_client()
    if app.extensions["model_server"].config.auth_enabled:
        test_client.environ_base["HTTP_X_API_KEY"] = OPERATOR_KEY
    return test_client


class Gunicorn:
    """A real gunicorn running model_server.wsgi:app on a free loopback port."""

    def __init__(self, state_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = state_dir
        self.log_path = state_dir / "gunicorn.log"
        state_dir.mkdir(parents=True, exist_ok=True)
        environment = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "MODEL_SERVER_BIND": f"127.0.0.1:{self.port}",
            "MODEL_SERVER_STATE_DIR": str(state_dir),
            "MODEL_SERVER_RELOAD_TOKEN": TOKEN,
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
            **env,
        }
        environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c", "python:model_server.gunicorn_conf", "model_server.wsgi:app",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=state_dir,
            env=environment,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        wait_http(f"{self.url}/ready", timeout, self.process)

    def wait_live(self, timeout: float = 60) -> None:
        wait_http(f"{self.url}/health", timeout, self.process)

    def terminate(self, timeout: float = 60) -> int:
        """Graceful stop (SIGTERM to the master); returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                stop_process(self.process)
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def gunicorn_factory(tmp_path):
    started: list[Gunicorn] = []

    def start(env: dict[str, str] | None = None, name: str = "gunicorn") -> Gunicorn:
        server = Gunicorn(tmp_path / name, env or {})
        started.append(server)
        return server

    yield start
    for server in started:
        server.terminate(timeout=30)


def post(url: str, path: str, body, timeout: float = 30) -> requests.Response:
    return requests.post(f"{url}{path}", json=body, timeout=timeout)


def wait_for(predicate, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")
