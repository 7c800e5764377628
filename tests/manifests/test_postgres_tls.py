"""PostgreSQL with ssl=on and the platform_tls role's certificate, reached by verifying clients."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from testsupport.postgres import as_postgres, initdb, pg_bin

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tls_postgres(rendered):
    tls = rendered.inventory / "secrets" / "tls"
    tmp = Path(tempfile.mkdtemp(prefix="house-prices-pgtls-"))
    data = tmp / "data"
    password = "a-test-superuser-password"
    for name in ("postgresql.crt", "postgresql.key", "ca.crt"):
        shutil.copy(tls / name, tmp / name)
        if os.geteuid() == 0:
            shutil.chown(tmp / name, "postgres")
    (tmp / "postgresql.key").chmod(0o600)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    initdb(tmp, data, password)
    # TLS only over the network, as the postgresql role configures it.
    (data / "pg_hba.conf").write_text(
        "local all all scram-sha-256\n"
        "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        "hostnossl all all 0.0.0.0/0 reject\n"
    )
    options = (
        f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c ssl=on "
        f"-c ssl_cert_file={tmp}/postgresql.crt -c ssl_key_file={tmp}/postgresql.key"
    )
    as_postgres(
        [pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(tmp / "log"), "-o", options, "start"]
    )
    try:
        yield {"port": port, "password": password, "ca": tls / "ca.crt", "tmp": tmp}
    finally:
        as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


def _psql(pg, **params) -> subprocess.CompletedProcess:
    dsn = " ".join(
        f"{k}={v}"
        for k, v in {"host": "127.0.0.1", "port": pg["port"], "user": "postgres",
                     "dbname": "postgres", **params}.items()
    )  # fmt: skip
    return subprocess.run(
        ["psql", dsn, "-Atc", "select ssl from pg_stat_ssl where pid = pg_backend_pid()"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PGPASSWORD": pg["password"]},
    )


def test_verifying_client_connects_over_tls(tls_postgres):
    proc = _psql(tls_postgres, sslmode="verify-full", sslrootcert=tls_postgres["ca"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "t"


def test_plain_and_untrusted_connections_are_refused(tls_postgres, tmp_path):
    plain = _psql(tls_postgres, sslmode="disable")
    assert plain.returncode != 0 and "no encryption" in plain.stderr
    other_ca = tmp_path / "other-ca.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(tmp_path / "k"), "-out", str(other_ca), "-subj", "/CN=other",
         "-days", "1"],
        check=True, capture_output=True,
    )  # fmt: skip
    untrusted = _psql(tls_postgres, sslmode="verify-full", sslrootcert=other_ca)
    assert untrusted.returncode != 0 and "certificate verify failed" in untrusted.stderr
