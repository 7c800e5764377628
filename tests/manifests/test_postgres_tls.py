"""PostgreSQL started as the rendered StatefulSet runs it (ssl=on with the postgresql-tls Secret,
pg_hba.conf from the postgresql-hba ConfigMap, both taken from the rendered manifests and written
with the volume's mode), reached by verifying clients with the rendered settings."""

from __future__ import annotations

import os
import subprocess

import pytest
import sqlalchemy as sa

from testsupport.postgres import bootstrap, client_url, manifest_cluster, pg_bin, rendered_secrets
from testsupport.servers import free_port

pytestmark = pytest.mark.integration

SSL_IN_USE = "select ssl from pg_stat_ssl where pid = pg_backend_pid()"


def _pod(render) -> dict:
    (sts,) = [d for d in render.files["10-postgresql.yaml"] if d["kind"] == "StatefulSet"]
    return sts["spec"]["template"]["spec"]


@pytest.fixture(scope="module")
def tls_postgres(rendered):
    password = rendered.secrets["postgres_superuser_password"]
    with manifest_cluster(rendered, password, free_port()) as server:
        assert server["ca"], "the rendered StatefulSet does not run with ssl=on"
        yield {**server, "password": password}


def _psql(pg, *, password=None, **params) -> subprocess.CompletedProcess:
    dsn = " ".join(
        f"{k}={v}"
        for k, v in {"host": "127.0.0.1", "port": pg["port"], "user": "postgres",
                     "dbname": "postgres", **params}.items()
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(
        [pg_bin("psql"), dsn, "-Atc", SSL_IN_USE],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_rendered_server_serves_tls_with_a_root_owned_key(rendered, tls_postgres):
    args = _pod(rendered)["containers"][0]["args"]
    assert {"ssl=on", "ssl_cert_file=/etc/platform-tls/tls.crt",
            "ssl_key_file=/etc/platform-tls/tls.key"} <= set(args)  # fmt: skip
    assert any(a.startswith("hba_file=") for a in args)
    # The key as the pod sees it: root-owned, 0440, group postgres (PostgreSQL accepts it).
    key = tls_postgres["path"]("/etc/platform-tls/tls.key")
    assert oct(os.stat(key).st_mode & 0o777) == "0o440"
    proc = _psql(tls_postgres, password=tls_postgres["password"], sslmode="verify-full",
                 sslrootcert=tls_postgres["ca"])  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "t"


def test_plain_passwordless_and_untrusted_tcp_are_refused(tls_postgres, tmp_path):
    plain = _psql(tls_postgres, password=tls_postgres["password"], sslmode="disable")
    assert plain.returncode != 0 and "no encryption" in plain.stderr
    nopassword = _psql(tls_postgres, sslmode="verify-full", sslrootcert=tls_postgres["ca"])
    assert nopassword.returncode != 0 and "password" in nopassword.stderr
    other_ca = tmp_path / "other-ca.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(tmp_path / "k"), "-out", str(other_ca), "-subj", "/CN=other",
         "-days", "1"],
        check=True, capture_output=True,
    )  # fmt: skip
    untrusted = _psql(tls_postgres, password=tls_postgres["password"], sslmode="verify-full",
                      sslrootcert=other_ca)  # fmt: skip
    assert untrusted.returncode != 0 and "certificate verify failed" in untrusted.stderr


def test_local_socket_still_needs_no_password(tls_postgres):
    """Backups and restores run pg_dump/pg_restore through `kubectl exec` on the socket."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    proc = subprocess.run(
        [pg_bin("psql"), "-h", str(tls_postgres["socket"]), "-p", str(tls_postgres["port"]),
         "-U", "postgres", "-d", "postgres", "-Atc", "select 1"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_bootstrap_job_and_rendered_client_url_verify(rendered, tls_postgres):
    render = rendered
    # The bootstrap Job verifies the server against the CA it mounts, and runs with its own
    # environment (the CA at its local copy) against the server.
    (job,) = [d for d in render.files["10-postgresql.yaml"] if d["kind"] == "Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PGSSLMODE"] == "verify-full"
    assert env["PGSSLROOTCERT"] == "/etc/platform-ca/ca.crt"
    assert {"name": "platform-ca", "mountPath": "/etc/platform-ca", "readOnly": True} in container[
        "volumeMounts"
    ]
    proc = bootstrap(render, tls_postgres)
    assert proc.returncode == 0, proc.stderr
    assert "database predictions (owner predictions) ready" in proc.stdout
    # The model server's URL exactly as rendered (host and CA path moved here), through
    # SQLAlchemy and psycopg2 as model_server.predictions_log connects.
    rendered_url = rendered_secrets(render, "50-model-server")["model-server-credentials"][
        "MODEL_SERVER_DATABASE_URL"
    ]
    assert rendered_url.endswith("?sslmode=verify-full&sslrootcert=/etc/platform-ca/ca.crt")
    engine = sa.create_engine(client_url(rendered_url, tls_postgres))
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text(SSL_IN_USE)).scalar() is True
            assert conn.execute(sa.text("select current_user")).scalar() == "predictions"
    finally:
        engine.dispose()
