"""Fixtures shared by every test package: real servers on free loopback ports, one of each
per test run."""

from __future__ import annotations

import os

import pytest

from house_prices.settings import Settings
from testsupport import servers
from testsupport.airflow import airflow_home
from testsupport.model_server import TOKEN
from testsupport.registered_models import MlflowServer, register_versions

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

#: pytest-timeout budgets, in seconds, above pyproject's global one: a Molecule test waits for
#: its scenario (three at a time, each up to 45 min), the first image test may build the image
#: (up to 60 min).
TIMEOUT_BY_MARKER = {"molecule": 2 * 2700 + 600, "image": 3600 + 1200}


def pytest_collection_modifyitems(items):
    for item in items:
        budgets = [
            TIMEOUT_BY_MARKER[m.name] for m in item.iter_markers() if m.name in TIMEOUT_BY_MARKER
        ]
        if budgets and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(max(budgets)))


@pytest.fixture(scope="session")
def mlflow_url(tmp_path_factory):
    """A real MLflow server (SQLite backend, local artifacts) for the whole session."""
    with servers.mlflow_server(tmp_path_factory.mktemp("mlflow")) as url:
        yield url


@pytest.fixture(scope="session")
def s3_url(tmp_path_factory):
    """A real S3-compatible server (moto) for the whole session."""
    with servers.s3_server(tmp_path_factory.mktemp("s3")) as url:
        yield url


@pytest.fixture(scope="session")
def mlflow_server(mlflow_url, tmp_path_factory) -> MlflowServer:
    """Two versions of the default model name registered in the session's MLflow server
    (other tests there use model names of their own); version 1 is champion."""
    settings = Settings(
        storage_root=tmp_path_factory.mktemp("registered-objects"),
        mlflow_tracking_uri=mlflow_url,
        model_server_reload_token=TOKEN,
    )
    return MlflowServer(mlflow_url, settings, register_versions(settings, count=2))


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory, mlflow_url, s3_url):
    """Environment for Airflow CLI runs of the DAG against real MLflow, S3 and the emulator."""
    return airflow_home(tmp_path_factory.mktemp("airflow"), mlflow_url, s3_url)
