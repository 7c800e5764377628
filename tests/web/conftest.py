"""Web UI fixtures: a real model server (gunicorn) on versions registered in a real MLflow."""

from __future__ import annotations

import pytest

from testsupport.model_server import TOKEN, Gunicorn
from testsupport.servers import free_port
from web import create_app
from web.config import WebConfig

OPERATOR = "operator-token-for-tests"


@pytest.fixture(scope="module")
def model_server_url(mlflow_server, tmp_path_factory):
    server = Gunicorn(
        tmp_path_factory.mktemp("web-model-server"), {"MLFLOW_TRACKING_URI": mlflow_server.url}
    )
    server.wait_ready()
    yield server.url
    server.terminate(timeout=30)


def web_config(model_server_url: str, mlflow_url: str, **overrides) -> WebConfig:
    closed = f"http://127.0.0.1:{free_port()}"
    values = {
        "model_server_url": model_server_url,
        "mlflow_url": mlflow_url,
        "airflow_url": closed,
        "data_api_url": closed,
        "operator_token": OPERATOR,
        "reload_token": TOKEN,
        "secret_key": "test-secret",
        "timeout": 30.0,
    }
    return WebConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def app(model_server_url, mlflow_server):
    return create_app(web_config(model_server_url, mlflow_server.url))


@pytest.fixture
def client(app):
    return app.test_client()
