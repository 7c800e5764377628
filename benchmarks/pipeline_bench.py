"""Benchmark of the pipeline on 361,457 listings: each step, the plain script, the DAG.

Starts a real MLflow server and the data API emulator (one batch of 361,457 rows), then runs
the same scenario twice, each on its own store and registered model:

1. as a plain script (``house_prices.pipeline.run_once`` in one process);
2. as the DAG, through Airflow itself (``airflow dags test``: tasks run in that process).

Each scenario is a first run (ingest, clean, drift check with no champion, train, promote)
followed by a re-run on the same batch (drift check against the champion's training data,
then the skip). Prints a table of step times, whole-run times, their ratio and peak memory.

    .venv/bin/python benchmarks/pipeline_bench.py [--rows 361457]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testsupport import servers  # noqa: E402
from testsupport.servers import one_batch_a_day  # noqa: E402

GROUP, DAY = 5, "Tuesday"
STEPS = ("ingest", "clean", "check_drift", "decide", "train", "promote")


def plain_script(env: dict[str, str]) -> list[dict]:
    """Both runs in a child process, so its peak memory is measured on its own."""
    code = (
        "import json, resource, time\n"
        "from house_prices.pipeline import run_once\n"
        "from house_prices.settings import Settings\n"
        "runs = []\n"
        "for _ in range(2):\n"
        "    start = time.perf_counter()\n"
        f"    summary = run_once(Settings.from_env(), {GROUP}, {DAY!r})\n"
        "    runs.append({'total': time.perf_counter() - start, 'steps': summary['timings'],\n"
        "                 'trained': summary['decision']['train']})\n"
        "    import requests, os\n"
        "    requests.get(os.environ['DATA_API_URL'] + '/restart_data_generation',\n"
        f"                 params={{'group_number': {GROUP}, 'day': {DAY!r}}}, timeout=30)\n"
        "runs.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        "print('RESULT' + json.dumps(runs))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT")), None)
    if line is None:
        sys.exit(f"plain script failed:\n{out.stderr[-4000:]}")
    *runs, peak_kb = json.loads(line[len("RESULT") :])
    for run in runs:
        run["peak_mb"] = peak_kb / 1024
    return runs


def dag_runs(env: dict[str, str], airflow_home: Path) -> list[dict]:
    subprocess.run(
        [str(servers.BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True
    )
    runs = []
    for attempt in range(2):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        out = subprocess.run(
            [
                str(servers.BIN / "airflow"),
                "dags",
                "test",
                "house_price_pipeline",
                f"2025-01-0{attempt + 1}T00:00:00+00:00",
                "-c",
                json.dumps({"group_number": GROUP, "day": DAY}),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        total = time.perf_counter() - start
        if out.returncode != 0:
            sys.exit(f"DAG run failed:\n{(out.stdout + out.stderr)[-4000:]}")
        peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        with sqlite3.connect(airflow_home / "airflow.db") as db:
            rows = db.execute(
                "SELECT ti.task_id, ti.duration, ti.state FROM task_instance ti JOIN dag_run dr "
                "ON ti.dag_id = dr.dag_id AND ti.run_id = dr.run_id "
                "WHERE dr.logical_date = (SELECT max(logical_date) FROM dag_run)"
            ).fetchall()
        steps = {
            task: round(duration or 0.0, 3) for task, duration, state in rows if state == "success"
        }
        runs.append(
            {"total": total, "steps": steps, "trained": "train" in steps, "peak_mb": peak / 1024}
        )
        requests.get(
            f"{env['DATA_API_URL']}/restart_data_generation",
            params={"group_number": GROUP, "day": DAY},
            timeout=30,
        )
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=361_457)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with (
            servers.mlflow_server(work / "mlflow") as mlflow_url,
            servers.emulator(work, timeout=300, **one_batch_a_day(args.rows)) as data_api,
        ):
            base = {
                **os.environ,
                "DATA_API_URL": data_api,
                "MLFLOW_TRACKING_URI": mlflow_url,
                "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
                "PYTHONPATH": str(REPO),
            }
            # Warm the emulator's cache so both scenarios fetch at the same cost.
            requests.get(
                f"{data_api}/data", params={"group_number": GROUP, "day": DAY}, timeout=300
            )
            requests.get(
                f"{data_api}/restart_data_generation",
                params={"group_number": GROUP, "day": DAY},
                timeout=30,
            )
            plain = plain_script(
                {
                    **base,
                    "HOUSE_PRICES_STORAGE_ROOT": str(work / "plain"),
                    "HOUSE_PRICES_MODEL_NAME": "bench-plain",
                    "HOUSE_PRICES_EXPERIMENT": "bench-plain",
                }
            )
            home = work / "airflow"
            dag = dag_runs(
                {
                    **base,
                    "HOUSE_PRICES_STORAGE_ROOT": str(work / "dag"),
                    "HOUSE_PRICES_MODEL_NAME": "bench-dag",
                    "HOUSE_PRICES_EXPERIMENT": "bench-dag",
                    "AIRFLOW_HOME": str(home),
                    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
                },
                home,
            )
    report(args.rows, plain, dag)


def report(rows: int, plain: list[dict], dag: list[dict]) -> None:
    print(f"\nPipeline benchmark: {rows:,} rows, {os.cpu_count()} cores\n")
    for label, index in (("first run (trains)", 0), ("re-run, same batch (skips)", 1)):
        print(f"{label}")
        print(f"  {'step':<14}{'plain script s':>16}{'DAG task s':>14}")
        for step in STEPS:
            p, d = plain[index]["steps"].get(step), dag[index]["steps"].get(step)
            if p is None and d is None:
                continue
            print(f"  {step:<14}{p if p is not None else '-':>16}{d if d is not None else '-':>14}")
        ratio = dag[index]["total"] / plain[index]["total"]
        print(
            f"  {'whole run':<14}{plain[index]['total']:>16.1f}{dag[index]['total']:>14.1f}"
            f"   DAG / plain = {ratio:.2f}\n"
        )
    print(
        f"peak memory: plain script {plain[0]['peak_mb']:.0f} MB, "
        f"DAG run (all tasks in one process) {max(r['peak_mb'] for r in dag):.0f} MB"
    )
    drift = dag[1]["steps"].get("check_drift")
    print(
        f"drift check against the champion's training data: plain "
        f"{plain[1]['steps'].get('check_drift')} s, DAG task {drift} s"
    )


if __name__ == "__main__":
    main()
