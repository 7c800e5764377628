"""The embedded default: run the whole platform on one machine as supervised processes.

    python embedded/appliance.py up       # start everything, train a champion, print the URLs
    python embedded/appliance.py status   # what runs, and is it healthy
    python embedded/appliance.py down     # stop everything; state in .state/ is kept
    python embedded/appliance.py backup [DIR]            # one verified archive of the state
    python embedded/appliance.py restore ARCHIVE [--force]   # onto a stopped, empty state

State (databases, artifacts, object store, logs, generated secrets) lives in ``.state/`` (or
``$APPLIANCE_STATE``), so ``down`` then ``up`` loses nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import string
import subprocess
import sys
import time
from pathlib import Path

import backup as backups  # embedded/backup.py, next to this script
import requests

REPO = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)
DAG_ID = "house_price_pipeline"

#: Loopback ports of the services; override with APPLIANCE_<NAME>_PORT.
PORTS = {
    "data_api": 8900,
    "mlflow": 5000,
    "airflow": 8080,
    "model_server": 8800,
    "web_ui": 8501,
    "prometheus": 9090,
}


def _port(name: str) -> int:
    return int(os.environ.get(f"APPLIANCE_{name.upper()}_PORT", PORTS[name]))


def _state() -> Path:
    return Path(os.environ.get("APPLIANCE_STATE", REPO / ".state")).resolve()


def _urls() -> dict[str, str]:
    return {name: f"http://127.0.0.1:{_port(name)}" for name in PORTS}


# --- secrets -------------------------------------------------------------------------------

_SECRET_MAKERS = {
    "AIRFLOW__CORE__FERNET_KEY": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "AIRFLOW__API_AUTH__JWT_SECRET": lambda: secrets.token_urlsafe(32),
    "AIRFLOW__API__SECRET_KEY": lambda: secrets.token_urlsafe(32),
    "AIRFLOW_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(16),
    "MODEL_SERVER_RELOAD_TOKEN": lambda: secrets.token_urlsafe(24),
    "WEB_SECRET_KEY": lambda: secrets.token_urlsafe(32),
    "WEB_OPERATOR_TOKEN": lambda: secrets.token_urlsafe(24),
}


def ensure_secrets(state: Path) -> dict[str, str]:
    """Generate missing secrets once into ``secrets.env`` (mode 0600); reuse them afterwards.

    The Fernet key above all must survive restarts: losing it (as the original deployment
    did) makes every stored connection unreadable.
    """
    path = state / "secrets.env"
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                values[key] = value
    missing = {k: make() for k, make in _SECRET_MAKERS.items() if k not in values}
    if missing:
        values.update(missing)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("# Generated once by embedded/appliance.py; keep private.\n")
            handle.writelines(f"{k}={v}\n" for k, v in sorted(values.items()))
        os.replace(tmp, path)
    path.chmod(0o600)
    return values


#: The libraries' own "phone nowhere" switches, checked against the installed versions:
#: MLflow 3.x sends usage telemetry and fetches a UI telemetry config from the internet unless
#: MLFLOW_DISABLE_TELEMETRY or DO_NOT_TRACK (mlflow/telemetry/utils.py); DO_NOT_TRACK is also
#: the generic switch other tools honour. Airflow 3.3 has no usage-data collection any more
#: (the [usage_data_collection] section and Scarf were removed), gunicorn and schemathesis 4
#: send nothing. The cluster's image sets the same (containers/Containerfile).
NO_OUTBOUND_CALLS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}


def environment(state: Path, secret_values: dict[str, str]) -> dict[str, str]:
    """The environment every program of the platform runs with."""
    urls = _urls()
    airflow_home = state / "airflow"
    passwords = airflow_home / "simple_auth_manager_passwords.json"
    env = {
        **secret_values,
        **NO_OUTBOUND_CALLS,
        # The pipeline (house_prices.settings)
        "HOUSE_PRICES_STORAGE": "local",
        "HOUSE_PRICES_STORAGE_ROOT": str(state / "objects"),
        "DATA_API_URL": urls["data_api"],
        "MLFLOW_TRACKING_URI": urls["mlflow"],
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        # MLflow's job runner starts eight ~240 MB workers for features this platform does not
        # use (GenAI evaluation): off, the server needs about 0.5 GB instead of 2.4 GB.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        # The model server (the pipeline tells it to reload after a promotion)
        "MODEL_SERVER_URL": urls["model_server"],
        "MODEL_SERVER_BIND": urls["model_server"].removeprefix("http://"),
        "MODEL_SERVER_STATE_DIR": str(state / "model_server"),
        # The web UI (WEB_OPERATOR_TOKEN and WEB_SECRET_KEY come from the secrets)
        "AIRFLOW_API_URL": urls["airflow"],
        # Airflow 3, LocalExecutor on SQLite
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{urls['airflow']}/execution/",
        "AIRFLOW__API__BASE_URL": urls["airflow"],
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(state / "logs" / "airflow"),
        "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
    }
    return env


def prepare(state: Path) -> dict[str, str]:
    """Create the state tree, secrets, Airflow's password file and database, the config."""
    for sub in ("logs/airflow", "airflow", "mlflow/artifacts", "objects", "model_server"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    env = environment(state, ensure_secrets(state))
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    fd = os.open(passwords, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"admin": env["AIRFLOW_ADMIN_PASSWORD"]}, handle)
    template = string.Template((REPO / "embedded" / "supervisord.conf.template").read_text())
    config = template.substitute(
        state=state,
        repo=REPO,
        venv=VENV,
        **{f"{name}_port": _port(name) for name in PORTS},
    )
    from prometheus_program import supervisor_program

    config += supervisor_program(state, {name: _port(name) for name in PORTS})
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


# --- supervisor ----------------------------------------------------------------------------


def _supervisorctl(state: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV / "bin" / "supervisorctl"), "-c", str(state / "supervisord.conf"), *args],
        capture_output=True,
        text=True,
        check=check,
    )


def _supervisord_pid(state: Path) -> int | None:
    try:
        pid = int((state / "supervisord.pid").read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def _wait_healthy(name: str, url: str, state: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                print(f"  {name:<14} healthy  {url}")
                return
        except requests.RequestException:
            pass
        time.sleep(2)
    sys.exit(
        f"{name} did not become healthy at {url} within {timeout:.0f} s; "
        f"see {state / 'logs'}/{name}*.log"
    )


HEALTH = {
    "data-api": ("data_api", "/health"),
    "mlflow": ("mlflow", "/health"),
    "airflow": ("airflow", "/api/v2/monitor/health"),
    "model-server": ("model_server", "/health"),
    "web-ui": ("web_ui", "/health"),
}


def start(state: Path) -> dict[str, str]:
    env = prepare(state)
    if _supervisord_pid(state) is None:
        print("starting the platform under supervisord ...")
        subprocess.run(
            [str(VENV / "bin" / "supervisord"), "-c", str(state / "supervisord.conf")],
            env={**os.environ, **env},
            check=True,
        )
    else:
        print("the platform already runs; checking it")
    urls = _urls()
    for name, (service, path) in HEALTH.items():
        _wait_healthy(name, urls[service] + path, state)
    return env


# --- Airflow -------------------------------------------------------------------------------


class Airflow:
    """The few Airflow REST calls the launcher needs."""

    def __init__(self, base: str, password: str) -> None:
        self.base = base
        token = requests.post(
            f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30
        )
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(
            method, f"{self.base}/api/v2{path}", headers=self.headers, timeout=30, **kwargs
        )

    def wait_for_dag(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while self.call("GET", f"/dags/{DAG_ID}").status_code != 200:
            if time.monotonic() > deadline:
                sys.exit(
                    f"DAG {DAG_ID} was not parsed within {timeout:.0f} s; "
                    "see .state/logs/airflow-dag-processor.log"
                )
            time.sleep(3)

    def run_dag(self, conf: dict, timeout: float = 900) -> str:
        self.call("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
        response = self.call(
            "POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": conf}
        )
        response.raise_for_status()
        run_id = response.json()["dag_run_id"]
        print(f"  triggered {DAG_ID} run {run_id}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json()["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(5)
        return "timed out"


def has_champion(env: dict[str, str]) -> str | None:
    from house_prices import registry
    from house_prices.settings import Settings

    client = registry.connect(env["MLFLOW_TRACKING_URI"])
    champion = registry.champion_version(client, Settings.from_env(env).model_name)
    return champion.version if champion else None


def up(args: argparse.Namespace) -> None:
    state = _state()
    env = start(state)
    os.environ.update(env)
    version = has_champion(env)
    if version is None:
        print("no champion yet: running the pipeline once (first run takes a minute or two) ...")
        airflow = Airflow(_urls()["airflow"], env["AIRFLOW_ADMIN_PASSWORD"])
        airflow.wait_for_dag()
        result = airflow.run_dag({"group_number": args.group, "day": args.day})
        version = has_champion(env)
        if result != "success" or version is None:
            sys.exit(
                f"the pipeline run ended '{result}' without a champion; its task logs are "
                f"in {state / 'logs' / 'airflow'} and in the Airflow UI"
            )
    urls = _urls()
    _wait_healthy("model-server", urls["model_server"] + "/ready", state)
    print(f"""
The platform runs. Champion: house-price version {version}.
  Airflow        {urls["airflow"]}   (user admin, password in {state / "secrets.env"}:
                 AIRFLOW_ADMIN_PASSWORD)
  MLflow         {urls["mlflow"]}
  Data API       {urls["data_api"]}   (emulator)
  Model server   {urls["model_server"]}   (POST /predict, /explain; GET /model, /openapi.json)
  Web UI         {urls["web_ui"]}   (operator token: WEB_OPERATOR_TOKEN in secrets.env)
  Prometheus     {urls["prometheus"]}   (when the OS has a prometheus binary)
Logs: {state / "logs"}    Stop: ./appliance down""")


def down(_: argparse.Namespace) -> None:
    state = _state()
    pid = _supervisord_pid(state)
    if pid is None:
        print("the platform is not running")
        return
    _supervisorctl(state, "stop", "all", check=False)
    os.kill(pid, signal.SIGTERM)
    for _ in range(60):
        if _supervisord_pid(state) is None:
            print("stopped; state kept in", state)
            return
        time.sleep(1)
    sys.exit(f"supervisord (pid {pid}) did not stop within 60 s")


def status(_: argparse.Namespace) -> None:
    state = _state()
    if _supervisord_pid(state) is None:
        print("the platform is not running (./appliance up starts it)")
        return
    print(_supervisorctl(state, "status", check=False).stdout)


def backup(args: argparse.Namespace) -> None:
    backups.main_backup(_state(), Path(args.directory).resolve())


def restore(args: argparse.Namespace) -> None:
    state = _state()
    if _supervisord_pid(state) is not None:
        sys.exit(f"the platform runs on {state}: stop it with ./appliance down, then restore")
    backups.main_restore(Path(args.archive).resolve(), state, args.force)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="start the platform and train a champion")
    up_parser.add_argument("--group", type=int, default=5, help="data API group (default 5)")
    up_parser.add_argument("--day", default="Tuesday", help="data API day (default Tuesday)")
    up_parser.set_defaults(func=up)
    sub.add_parser("down", help="stop every process; keep the state").set_defaults(func=down)
    sub.add_parser("status", help="show the processes").set_defaults(func=status)
    backup_parser = sub.add_parser("backup", help="write one archive of the state (may run)")
    backup_parser.add_argument(
        "directory", nargs="?", default="backups", help="where to write it (default backups/)"
    )
    backup_parser.set_defaults(func=backup)
    restore_parser = sub.add_parser("restore", help="restore an archive onto a stopped platform")
    restore_parser.add_argument("archive", help="a file written by ./appliance backup")
    restore_parser.add_argument(
        "--force", action="store_true", help="replace a non-empty state (moved aside, kept)"
    )
    restore_parser.set_defaults(func=restore)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
