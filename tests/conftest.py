"""Fixtures shared by every test package: real servers on free loopback ports and renders of
the platform, one of each per test run; the test order and the Molecule scenarios' start."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from house_prices.settings import Settings
from testsupport import molecule, servers
from testsupport.airflow import airflow_home
from testsupport.model_server import TOKEN
from testsupport.registered_models import MlflowServer, register_versions
from testsupport.render import (
    EXAMPLE_INVENTORY,
    TLS_OFF_SETTINGS,
    VARIANT_SETTINGS,
    Rendered,
    render,
)

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

EMBEDDED = Path(__file__).parent / "embedded"
IMAGE = Path(__file__).parent / "image"
MOLECULE_STARTED = pytest.StashKey[bool]()
#: pytest-timeout budgets, in seconds, above pyproject's global one: a Molecule test waits for
#: its scenario (they run in the background one after another, each up to 45 min; the tests
#: run last), the first image test may build the image (up to 60 min).
TIMEOUT_BY_MARKER = {"molecule": 2 * 2700 + 600, "image": 3600 + 1200}


def pytest_collection_modifyitems(items):
    for item in items:
        budgets = [
            TIMEOUT_BY_MARKER[m.name] for m in item.iter_markers() if m.name in TIMEOUT_BY_MARKER
        ]
        if budgets and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(max(budgets)))
    # First the tests that wait for services within fixed budgets (before the Molecule
    # scenarios start, see pytest_runtest_setup); last the Molecule tests, which only wait for
    # the scenarios running in the background, so that every other test runs meanwhile.
    items.sort(key=_run_order)


def _run_order(item) -> int:
    if item.get_closest_marker("molecule") is not None:
        return 2
    return 1 if _runs_beside_molecule(item) else 0


def _runs_beside_molecule(item) -> bool:
    """Not the embedded ``appliance up`` or the image's containers: they wait for each service
    within fixed budgets, which a loaded machine can miss."""
    return not {EMBEDDED, IMAGE} & set(item.path.parents)


def pytest_runtest_setup(item):
    """Start the selected Molecule scenarios at the first test after tests/embedded and
    tests/image (sorted first): they run beside the other tests (testsupport/molecule.py),
    and the Molecule tests, sorted last, wait for their results."""
    if item.session.stash.get(MOLECULE_STARTED, False) or not _runs_beside_molecule(item):
        return
    item.session.stash[MOLECULE_STARTED] = True
    molecule.start(
        {
            other.callspec.params["scenario"]
            for other in item.session.items
            if other.originalname == "test_molecule_scenario"
        }
    )


def pytest_sessionfinish(session):
    molecule.finish()


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


# The renders of the run: each takes about 90 s, so every module shares these five.
@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Rendered:
    """The fixture inventory with its defaults (TLS on, MetalLB pool set: LoadBalancers),
    the real Secret manifests included (render_secrets=true)."""
    return render(tmp_path_factory.mktemp("render-default"), "-e", "render_secrets=true")


@pytest.fixture(scope="session")
def rendered_example(tmp_path_factory) -> Rendered:
    """The committed example inventory (inventory/example), exactly as a user copies it."""
    return render(tmp_path_factory.mktemp("render-example"), source=EXAMPLE_INVENTORY)


@pytest.fixture(scope="session")
def rendered_nodeport(tmp_path_factory) -> Rendered:
    """The fixture inventory with MetalLB, MLflow auth and TLS off."""
    return render(
        tmp_path_factory.mktemp("render-nodeport"),
        "-e",
        '{"platform_metallb_enabled": false, "platform_mlflow_auth_enabled": false,'
        ' "platform_tls_enabled": false}',
    )


@pytest.fixture(scope="session")
def rendered_tls_off(tmp_path_factory) -> Rendered:
    """The fixture inventory with TLS_OFF_SETTINGS (TLS off, Secrets included)."""
    return render(tmp_path_factory.mktemp("render-tls-off"), "-e", json.dumps(TLS_OFF_SETTINGS))


@pytest.fixture(scope="session")
def rendered_variant(tmp_path_factory) -> Rendered:
    """The fixture inventory with every setting of VARIANT_SETTINGS changed from its default,
    Secrets included; each module checks the effect of its own settings."""
    return render(
        tmp_path_factory.mktemp("render-variant"),
        "-e",
        json.dumps(VARIANT_SETTINGS),
        "-e",
        "render_secrets=true",
    )
