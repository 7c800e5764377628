"""Load run: the original system's Locust test (``locustfile_legacy.py``) against our server.

Starts MLflow, registers a RandomForest (50 trees, depth 10, as ``model_server_bench.py``)
trained on a batch of the data API emulator's listings (every state the Locust file draws
from), starts our gunicorn (2 workers x 4 threads) on a loopback port, then runs Locust
headless: 10 users, 60 s. Prints Locust's summary per endpoint and exits non-zero on any
failed request. Everything listens on loopback and is stopped at the end.

    .venv/bin/python benchmarks/legacy_dialect_load.py [--users 10] [--seconds 60]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.model_server_bench import worker_rss_mb  # noqa: E402
from testsupport.served_champion import served_champion  # noqa: E402

BIN = Path(sys.executable).parent
LOCUSTFILE = REPO / "benchmarks" / "locustfile_legacy.py"


def emulator_batch(rows: int, seed: int, shift: float = 1.0):
    """A raw batch as the data API serves it (dirt included), every column a string."""
    from data_api_emulator.generator import generate_batch

    return generate_batch(5, "Tuesday", 1, rows, seed=seed).astype("string")


def run_locust(host: str, users: int, seconds: int, workdir: Path) -> tuple[int, Path]:
    prefix = workdir / "locust"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", host,
        "--headless", "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{seconds}s", "--stop-timeout", "10", "--only-summary",
        "--csv", str(prefix), "--loglevel", "WARNING",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=workdir, check=False, timeout=seconds + 120)
    return result.returncode, Path(f"{prefix}_stats.csv")


def summary_table(stats_csv: Path) -> tuple[str, int, int]:
    """Locust's per-endpoint figures as a Markdown table; (table, requests, failures)."""
    rows = list(csv.DictReader(stats_csv.open()))
    lines = [
        "| endpoint | requests | failures | median ms | p95 ms | p99 ms | avg ms | max ms "
        "| req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total = {"requests": 0, "failures": 0}
    for row in rows:
        name = "**total**" if row["Name"] == "Aggregated" else f"{row['Type']} {row['Name']}"
        if row["Name"] == "Aggregated":
            total = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"])}
        lines.append(
            f"| {name} | {row['Request Count']} | {row['Failure Count']} "
            f"| {row['50%']} | {row['95%']} | {row['99%']} "
            f"| {float(row['Average Response Time']):.1f} "
            f"| {float(row['Max Response Time']):.0f} | {float(row['Requests/s']):.1f} |"
        )
    return "\n".join(lines), total["requests"], total["failures"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rows", type=int, default=120_000, help="training rows")
    args = parser.parse_args()

    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    workdir = Path(tempfile.mkdtemp(prefix="legacy-dialect-load-"))
    champion = served_champion(
        workdir, args.rows, emulator_batch, server_env={"MODEL_SERVER_LOG_LEVEL": "warning"}
    )
    try:
        with champion as (_, server):
            port = server.port
            print(f"gunicorn ready on 127.0.0.1:{port}; Locust: {args.users} users, "
                  f"{args.seconds} s", flush=True)  # fmt: skip

            code, stats = run_locust(f"http://127.0.0.1:{port}", args.users, args.seconds, workdir)
            rss = worker_rss_mb(server.pid)
            failures_csv = workdir / "locust_failures.csv"
            failures = failures_csv.read_text() if failures_csv.exists() else ""
            log = server.log()
            table, requests, failed = summary_table(stats)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\nLocust {args.users} users, {args.seconds} s, against gunicorn 2 workers x 4 threads "
          f"({os.cpu_count()} CPUs)\n")  # fmt: skip
    print(table)
    print(f"\nworker RSS MB after the run: {', '.join(f'{value:.0f}' for value in rss)}")
    if failed and failures.count("\n") > 1:
        print("\nfailures:\n" + failures)
    if "Traceback" in log:
        print("\nthe server logged a traceback:\n" + log[-3000:])
    verdict = failed == 0 and requests > 0 and code == 0 and "Traceback" not in log
    print(f"\n  [{'PASS' if verdict else 'FAIL'}] {requests} requests, {failed} failed "
          "(target 0 failed)")  # fmt: skip
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
