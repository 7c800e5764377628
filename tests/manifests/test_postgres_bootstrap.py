"""Run the rendered PostgreSQL bootstrap script, then the real migrations, on a local server.

The script is taken from the rendered ConfigMap and the database URLs from the rendered
Secrets (render_secrets=true); only the host name is pointed at a throw-away PostgreSQL
started here. Needs the PostgreSQL server binaries (Debian: apt-get install postgresql).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from .conftest import VENV_BIN

pytestmark = pytest.mark.integration


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise AssertionError(f"{name} not found: install the PostgreSQL server (postgresql)")
    return found


def _as_postgres(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)
    if proc.returncode != 0:
        raise AssertionError(f"{cmd} failed: {proc.stdout}{proc.stderr}")
    return proc


def initdb(tmp: Path, data: Path, superuser: str) -> None:
    """A new cluster in data (under tmp, which the postgres user must own) with password auth."""
    pwfile = tmp / "pw"
    pwfile.write_text(superuser + "\n")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        shutil.chown(pwfile, "postgres")
    _as_postgres(
        [
            _pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
        ]
    )


@pytest.fixture(scope="module")
def postgres(rendered_with_secrets):
    # Not under pytest's root-only temp dir: the server runs as the postgres user.
    tmp = Path(tempfile.mkdtemp(prefix="house-prices-pg-"))
    data = tmp / "data"
    superuser = rendered_with_secrets.secrets["postgres_superuser_password"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    initdb(tmp, data, superuser)
    _as_postgres(
        [
            _pg_bin("pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(tmp / "log"),
            "-o",
            f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1",
            "start",
        ]
    )
    try:
        yield {"port": port, "superuser": superuser}
    finally:
        _as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


def _secrets(render, component):
    text = (render.dir / "secrets" / f"{component}.yaml").read_text()
    return {d["metadata"]["name"]: d["stringData"] for d in yaml.safe_load_all(text)}


def _bootstrap(render, postgres, **overrides):
    docs = yaml.safe_load_all((render.dir / "10-postgresql.yaml").read_text())
    script = next(d for d in docs if d and d["metadata"]["name"] == "postgresql-bootstrap")
    env = {
        "PATH": f"{Path(_pg_bin('psql')).parent}{os.pathsep}{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres["port"]),
        "PGUSER": "postgres",
        "PGDATABASE": "postgres",
        **_secrets(render, "10-postgresql")["postgresql-credentials"],
        **overrides,
    }
    env["PGPASSWORD"] = env.pop("POSTGRES_PASSWORD")
    return subprocess.run(
        ["sh", "-c", script["data"]["bootstrap.sh"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


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
    return url.replace("@postgresql:5432/", f"@127.0.0.1:{postgres['port']}/")


def test_bootstrap_creates_databases_idempotently(rendered_with_secrets, postgres):
    render = rendered_with_secrets
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


def test_rendered_urls_migrate_airflow_and_mlflow(rendered_with_secrets, postgres):
    render = rendered_with_secrets
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
