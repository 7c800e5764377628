"""Debian's PostgreSQL server as a throw-away cluster, and the rendered bootstrap script run
against it (tests/manifests and tests/image)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml


def pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise AssertionError(f"{name} not found: install the PostgreSQL server (postgresql)")
    return found


def as_postgres(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
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
    as_postgres(
        [
            pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
        ]
    )


@contextlib.contextmanager
def cluster(superuser: str, host: str, port: int, allow: str | None = None) -> Iterator[None]:
    """A new cluster listening on host:port until the block ends; ``allow``: one more network
    that may log in with a password."""
    # Not under pytest's root-only temp dir: the server runs as the postgres user.
    tmp = Path(tempfile.mkdtemp(prefix="house-prices-pg-"))
    data = tmp / "data"
    initdb(tmp, data, superuser)
    if allow:
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {allow} scram-sha-256\n")
    options = f"-p {port} -k {tmp} -c listen_addresses={host}"
    as_postgres(
        [pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(tmp / "log"), "-o", options, "start"]
    )
    try:
        yield
    finally:
        as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


def rendered_secrets(render, component: str) -> dict[str, dict]:
    """The stringData of each Secret rendered for ``component`` (render_secrets=true)."""
    text = (render.dir / "secrets" / f"{component}.yaml").read_text()
    return {d["metadata"]["name"]: d["stringData"] for d in yaml.safe_load_all(text)}


def bootstrap(render, postgres: dict, **overrides) -> subprocess.CompletedProcess:
    """The rendered postgresql-bootstrap script run against ``postgres`` (port, ...)."""
    docs = yaml.safe_load_all((render.dir / "10-postgresql.yaml").read_text())
    script = next(d for d in docs if d and d["metadata"]["name"] == "postgresql-bootstrap")
    env = {
        "PATH": f"{Path(pg_bin('psql')).parent}{os.pathsep}{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres["port"]),
        "PGUSER": "postgres",
        "PGDATABASE": "postgres",
        **rendered_secrets(render, "10-postgresql")["postgresql-credentials"],
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
