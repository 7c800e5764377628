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
import os
import signal
import sys
import time
from pathlib import Path

import backup as backups  # the modules next to this script
from airflow_api import Airflow
from services import secure, state_dir, urls
from supervised import start, supervisorctl, supervisord_pid, wait_healthy


def champion_version_number(env: dict[str, str]) -> str | None:
    from house_prices import registry
    from house_prices.settings import Settings

    client = registry.connect(env["MLFLOW_TRACKING_URI"])
    champion = registry.champion_version(client, Settings.from_env(env).model_name)
    return champion.version if champion else None


def up(args: argparse.Namespace) -> None:
    state = state_dir()
    base = urls()
    env = start(state)
    os.environ.update(env)
    version = champion_version_number(env)
    if version is None:
        print("no champion yet: running the pipeline once (first run takes a minute or two) ...")
        airflow = Airflow(base["airflow"], env["AIRFLOW_ADMIN_PASSWORD"])
        airflow.wait_for_dag()
        result = airflow.run_dag({"group_number": args.group, "day": args.day})
        version = champion_version_number(env)
        if result != "success" or version is None:
            sys.exit(
                f"the pipeline run ended '{result}' without a champion; its task logs are "
                f"in {state / 'logs' / 'airflow'} and in the Airflow UI"
            )
    wait_healthy("model-server", base["model_server"] + "/ready", state, in_a_row=8)
    print(f"""
The platform runs. Champion: house-price version {version}.
  Airflow        {base["airflow"]}   (user admin, password in {state / "secrets.env"}:
                 AIRFLOW_ADMIN_PASSWORD)
  MLflow         {base["mlflow"]}
  Data API       {base["data_api"]}   (emulator)
  Model server   {base["model_server"]}   (POST /predict, /explain; GET /model, /openapi.json)
  Web UI         {base["web_ui"]}   (operator token: WEB_OPERATOR_TOKEN in secrets.env)
  Prometheus     {base["prometheus"]}   (when the OS has a prometheus binary)
Logs: {state / "logs"}    Stop: ./appliance down""")
    if secure():
        print(f"""Secure mode: the model server and the web UI serve TLS signed by the local CA
  {state / "tls" / "ca.crt"} (curl --cacert, REQUESTS_CA_BUNDLE); the model server wants an
  X-API-Key: MODEL_SERVER_SCRIPTS_KEY in {state / "secrets.env"} for /predict and /explain.""")


def down(_: argparse.Namespace) -> None:
    state = state_dir()
    pid = supervisord_pid(state)
    if pid is None:
        print("the platform is not running")
        return
    supervisorctl(state, "stop", "all", check=False)
    os.kill(pid, signal.SIGTERM)
    for _ in range(60):
        if supervisord_pid(state) is None:
            print("stopped; state kept in", state)
            return
        time.sleep(1)
    sys.exit(f"supervisord (pid {pid}) did not stop within 60 s")


def status(_: argparse.Namespace) -> None:
    state = state_dir()
    if supervisord_pid(state) is None:
        print("the platform is not running (./appliance up starts it)")
        return
    print(supervisorctl(state, "status", check=False).stdout)


def backup(args: argparse.Namespace) -> None:
    backups.main_backup(state_dir(), Path(args.directory).resolve())


def restore(args: argparse.Namespace) -> None:
    state = state_dir()
    if supervisord_pid(state) is not None:
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
