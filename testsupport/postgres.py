"""Debian's PostgreSQL server as a throw-away cluster, and the rendered bootstrap script run
against it (tests/manifests and tests/image)."""

from __future__ import annotations

import contextlib
import glob
import os
import shlex
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


def _docs(render, name: str) -> list[dict]:
    """The documents of rendered file ``name``, the real Secrets (render_secrets=true) before
    the redacted copies."""
    secrets = render.dir / "secrets" / name
    docs = [d for d in yaml.safe_load_all(secrets.read_text()) if d] if secrets.exists() else []
    return docs + [d for d in yaml.safe_load_all((render.dir / name).read_text()) if d]


def _volume_files(render, volume: dict) -> dict[str, str]:
    """The files a Secret or ConfigMap volume of the rendered manifests holds."""
    if "secret" in volume:
        kind, name = "Secret", volume["secret"]["secretName"]
    else:
        kind, name = "ConfigMap", volume["configMap"]["name"]
    for path in sorted(render.dir.glob("*.yaml")):
        for doc in _docs(render, path.name):
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc.get("stringData") or doc["data"]
    raise AssertionError(f"{kind} {name} is not in the rendered manifests (render_secrets=true?)")


@contextlib.contextmanager
def manifest_cluster(render, superuser: str, port: int) -> Iterator[dict]:
    """PostgreSQL started with the arguments of the rendered StatefulSet (10-postgresql.yaml):
    its Secret and ConfigMap volumes (TLS certificate, pg_hba.conf) are written under a
    temporary directory with the volume's mode (root-owned, group postgres, as the pod's fsGroup
    makes them), and every mount path in the arguments points there. Yields port, the socket
    directory, the local copy of the appliance CA (platform-ca ConfigMap, when TLS is on) and
    ``path``, which maps a path of the pod to the local copy."""
    (sts,) = [d for d in _docs(render, "10-postgresql.yaml") if d["kind"] == "StatefulSet"]
    pod = sts["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    tmp = Path(tempfile.mkdtemp(prefix="house-prices-pg-"))
    initdb(tmp, tmp / "data", superuser)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts: dict[str, Path] = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        if "secret" not in volume and "configMap" not in volume:
            continue
        local = tmp / "mounts" / mount["name"]
        local.mkdir(parents=True)
        mode = (volume.get("secret") or volume.get("configMap")).get("defaultMode", 0o644)
        for file_name, content in _volume_files(render, volume).items():
            (local / file_name).write_text(content)
            (local / file_name).chmod(mode)
            if os.geteuid() == 0:
                shutil.chown(local / file_name, "root", "postgres")
        mounts[mount["mountPath"]] = local

    def path(pod_path: str) -> str:
        for mount_path, local in mounts.items():
            pod_path = pod_path.replace(mount_path, str(local))
        return pod_path

    args = [path(arg) for arg in container.get("args", ["postgres"])]
    assert args[0] == "postgres", args
    ca = None
    if any(arg == "ssl=on" for arg in args):
        ca = tmp / "ca.crt"
        ca.write_text(_volume_files(render, {"configMap": {"name": "platform-ca"}})["ca.crt"])
    options = " ".join(shlex.quote(a) for a in args[1:])
    options += f" -p {port} -k {tmp} -c listen_addresses=127.0.0.1"
    pg_ctl = [pg_bin("pg_ctl"), "-D", str(tmp / "data"), "-w", "-l", str(tmp / "log")]
    try:
        as_postgres([*pg_ctl, "-o", options, "start"])
    except AssertionError:
        log = (tmp / "log").read_text() if (tmp / "log").exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)
        raise AssertionError(f"PostgreSQL did not start with {args}: {log}") from None
    try:
        yield {"port": port, "superuser": superuser, "socket": tmp, "ca": ca, "path": path}
    finally:
        as_postgres([pg_bin("pg_ctl"), "-D", str(tmp / "data"), "-m", "fast", "stop"])
        shutil.rmtree(tmp, ignore_errors=True)


def client_url(url: str, postgres: dict) -> str:
    """A rendered database URL pointed at ``postgres``: host and port, and the CA path of the
    pod replaced by the local copy (manifest_cluster); everything else as rendered."""
    url = url.replace("@postgresql:5432/", f"@127.0.0.1:{postgres['port']}/")
    assert f"@127.0.0.1:{postgres['port']}/" in url, "unexpected host in the rendered URL"
    if postgres.get("ca"):
        url = url.replace("sslrootcert=/etc/platform-ca/ca.crt", f"sslrootcert={postgres['ca']}")
    return url


def rendered_secrets(render, component: str) -> dict[str, dict]:
    """The stringData of each Secret rendered for ``component`` (render_secrets=true)."""
    text = (render.dir / "secrets" / f"{component}.yaml").read_text()
    return {d["metadata"]["name"]: d["stringData"] for d in yaml.safe_load_all(text)}


def bootstrap(render, postgres: dict, **overrides) -> subprocess.CompletedProcess:
    """The rendered postgresql-bootstrap script run against ``postgres`` (port, ...)."""
    docs = list(yaml.safe_load_all((render.dir / "10-postgresql.yaml").read_text()))
    script = next(d for d in docs if d and d["metadata"]["name"] == "postgresql-bootstrap")
    job = next(d for d in docs if d and d["kind"] == "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    # The Job's own settings (PGSSLMODE, PGSSLROOTCERT with TLS), the CA at its local copy.
    job_env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    if postgres.get("ca") and "PGSSLROOTCERT" in job_env:
        job_env["PGSSLROOTCERT"] = str(postgres["ca"])
    env = {
        "PATH": f"{Path(pg_bin('psql')).parent}{os.pathsep}{os.environ['PATH']}",
        **job_env,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres["port"]),
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
