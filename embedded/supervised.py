"""Prepare the state, run the platform under supervisord and wait for its services."""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
import time
from pathlib import Path

import requests
from local_tls import ensure_tls
from platform_env import VENV, ensure_secrets, environment
from services import REPO, SERVICES, ports, secure, urls


def prepare(state: Path) -> dict[str, str]:
    """Create the state tree, secrets, Airflow's password file and database, the config."""
    for sub in ("logs/airflow", "airflow", "mlflow/artifacts", "objects", "model_server"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    tls = ensure_tls(state) if secure() else None
    env = environment(state, ensure_secrets(state), urls(), os.environ.get("PATH", ""), tls)
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    fd = os.open(passwords, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"admin": env["AIRFLOW_ADMIN_PASSWORD"]}, handle)
    template = string.Template((REPO / "embedded" / "supervisord.conf.template").read_text())
    config = template.substitute(
        state=state,
        repo=REPO,
        venv=VENV,
        web_ui_tls=f"--certfile {tls['cert']} --keyfile {tls['key']}" if tls else "",
        **{f"{name}_port": port for name, port in ports().items()},
    )
    from prometheus_program import supervisor_program

    config += supervisor_program(state, ports())
    (state / "supervisord.conf").write_text(config)
    _run(
        [str(VENV / "bin" / "airflow"), "db", "migrate"],
        env,
        "Airflow database migration",
        log=state / "logs" / "airflow-db-migrate.log",
    )
    return env


def _run(command: list[str], env: dict[str, str], what: str, log: Path) -> None:
    with log.open("w") as handle:
        result = subprocess.run(
            command, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        sys.exit(f"{what} failed (exit {result.returncode}); see {log}")


def supervisorctl(state: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV / "bin" / "supervisorctl"), "-c", str(state / "supervisord.conf"), *args],
        capture_output=True,
        text=True,
        check=check,
    )


def supervisord_pid(state: Path) -> int | None:
    try:
        pid = int((state / "supervisord.pid").read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def wait_healthy(
    program: str, url: str, state: Path, timeout: float = 240, in_a_row: int = 1
) -> None:
    """Wait for ``in_a_row`` 200 answers in a row, each on a new connection: a server of
    several workers (the model server) has each worker load its model on its own."""
    deadline = time.monotonic() + timeout
    # Secure mode: https answers are verified against the platform's own CA.
    verify = str(state / "tls" / "ca.crt") if url.startswith("https:") else True
    answered = 0
    while time.monotonic() < deadline:
        try:
            healthy = requests.get(url, timeout=5, verify=verify).status_code == 200
        except requests.RequestException:
            healthy = False
        answered = answered + 1 if healthy else 0
        if answered >= in_a_row:
            print(f"  {program:<18} healthy  {url}")
            return
        time.sleep(0.2 if healthy else 2)
    sys.exit(
        f"{program} did not become healthy at {url} within {timeout:.0f} s; "
        f"see {state / 'logs'}/{program}*.log"
    )


def start(state: Path) -> dict[str, str]:
    """Start supervisord unless it runs, then wait for every service with a health path."""
    env = prepare(state)
    if supervisord_pid(state) is None:
        print("starting the platform under supervisord ...")
        subprocess.run(
            [str(VENV / "bin" / "supervisord"), "-c", str(state / "supervisord.conf")],
            env={**os.environ, **env},
            check=True,
        )
    else:
        print("the platform already runs; checking it")
    base = urls()
    for service in SERVICES:
        if service.health_path:
            wait_healthy(service.program, base[service.name] + service.health_path, state)
    return env
