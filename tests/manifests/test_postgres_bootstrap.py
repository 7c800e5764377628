"""Run the rendered PostgreSQL bootstrap script, then the real migrations, on a local server.

The script is taken from the rendered ConfigMap and the database URLs from the rendered
Secrets (render_secrets=true); only the host name (and the CA path) is pointed at a throw-away
PostgreSQL started as the rendered StatefulSet runs it (with TLS by default). Needs the
PostgreSQL server binaries (Debian: apt-get install postgresql).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testsupport.postgres import bootstrap as _bootstrap
from testsupport.postgres import client_url, manifest_cluster
from testsupport.postgres import pg_bin as _pg_bin
from testsupport.postgres import rendered_secrets as _secrets
from testsupport.servers import free_port

from .conftest import VENV_BIN

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres(rendered):
    superuser = rendered.secrets["postgres_superuser_password"]
    port = free_port()
    with manifest_cluster(rendered, superuser, port) as server:
        yield server


def _login(postgres, db, user, password):
    return subprocess.run(
        [
            _pg_bin("psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(postgres["port"]),
            "-U",
            user,
            "-d",
            db,
            "-Atc",
            "select current_user, current_database()",
        ],
        env={**os.environ, "PGPASSWORD": password},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _local(url: str, postgres) -> str:
    return client_url(url, postgres)


def test_bootstrap_creates_databases_idempotently(rendered, postgres):
    render = rendered
    for _ in range(2):
        proc = _bootstrap(render, postgres)
        assert proc.returncode == 0, proc.stderr
        assert "database predictions (owner predictions) ready" in proc.stdout
    s = render.secrets
    for db, user, key in [
        ("airflow", "airflow", "airflow_db_password"),
        ("mlflow", "mlflow", "mlflow_db_password"),
        ("mlflow_auth", "mlflow", "mlflow_db_password"),
        ("predictions", "predictions", "predictions_db_password"),
    ]:
        login = _login(postgres, db, user, s[key])
        assert login.stdout.strip() == f"{user}|{db}", login.stderr
    # Another role cannot even connect to a database it does not own.
    denied = _login(postgres, "airflow", "predictions", s["predictions_db_password"])
    assert denied.returncode != 0 and "permission denied" in denied.stderr
    # A changed password is applied on the next run.
    proc = _bootstrap(render, postgres, PREDICTIONS_DB_PASSWORD="a-new-password-123")
    assert proc.returncode == 0, proc.stderr
    assert _login(postgres, "predictions", "predictions", "a-new-password-123").returncode == 0
    assert _bootstrap(render, postgres).returncode == 0


def test_rendered_urls_migrate_airflow_and_mlflow(rendered, postgres):
    render = rendered
    assert _bootstrap(render, postgres).returncode == 0
    airflow_url = _local(
        _secrets(render, "40-airflow")["airflow-credentials"][
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
        ],
        postgres,
    )
    mlflow_url = _local(
        _secrets(render, "30-mlflow")["mlflow-credentials"]["MLFLOW_BACKEND_STORE_URI"], postgres
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(
            postgres_home := Path(os.environ.get("TMPDIR", "/tmp"))
            / f"airflow-home-{postgres['port']}"
        ),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_url,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    try:
        migrate = subprocess.run(
            [str(VENV_BIN / "airflow"), "db", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
        check = subprocess.run(
            [str(VENV_BIN / "airflow"), "db", "check-migrations", "--migration-wait-timeout", "5"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert check.returncode == 0, check.stderr[-3000:]
    finally:
        shutil.rmtree(postgres_home, ignore_errors=True)
    upgrade = subprocess.run(
        [str(VENV_BIN / "mlflow"), "db", "upgrade", mlflow_url],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert upgrade.returncode == 0, upgrade.stderr[-3000:]
    tables = _login(postgres, "mlflow", "mlflow", render.secrets["mlflow_db_password"])
    assert tables.returncode == 0
