"""Fixtures shared by every test package: real servers on free loopback ports."""

from __future__ import annotations

import os

import pytest

from tests import servers

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


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
