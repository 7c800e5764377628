"""Fixtures: the app on the session's registered versions, and real gunicorn."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from model_server import create_app
from model_server.auth import parse_keys
from model_server.config import ServerConfig
from testsupport.model_server import API_KEYS, OPERATOR_KEY, Gunicorn


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


@pytest.fixture
def gunicorn_factory(tmp_path: Path):
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
