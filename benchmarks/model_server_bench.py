"""Benchmark: our /predict and /explain against ``mlflow models serve``'s /invocations.

One run, one machine, one registered model (RandomForest, 50 trees, depth 10, trained on a
synthetic frame), one client (keep-alive HTTP connections in threads), one concurrency.
Everything listens on loopback ports the OS hands out, and is stopped at the end.

    .venv/bin/python benchmarks/model_server_bench.py [--seconds 20]

Prints a table (req/s, p50/p95/p99 ms, errors, worker RSS) and the targets' verdicts.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from house_prices.features import FEATURES  # noqa: E402
from testsupport.model_server import LISTING  # noqa: E402
from testsupport.served_champion import served_champion  # noqa: E402
from testsupport.servers import free_port, start, stop_process, wait_http  # noqa: E402

COLUMNS = list(FEATURES)
BIN = Path(sys.executable).parent


def load(port: int, path: str, body: bytes, concurrency: int, seconds: float) -> dict:
    """Closed-loop load: ``concurrency`` threads, each with one keep-alive connection."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    deadline = time.perf_counter() + seconds
    headers = {"Content-Type": "application/json"}
    if os.environ.get("MODEL_SERVER_API_KEY"):  # a server with API keys on
        headers["X-API-Key"] = os.environ["MODEL_SERVER_API_KEY"]

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if ok:
                latencies[index].append(time.perf_counter() - start)
            else:
                errors[index] += 1
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    merged = sorted(value for values in latencies for value in values)
    if not merged:
        return {"rps": 0.0, "p50": None, "p95": None, "p99": None, "n": 0, "errors": sum(errors)}

    def pct(q: float) -> float:
        return merged[min(len(merged) - 1, int(q * len(merged)))] * 1000

    return {
        "rps": len(merged) / elapsed,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "n": len(merged),
        "errors": sum(errors),
    }


def worker_rss_mb(master_pid: int) -> list[float]:
    """RSS of each child process (the server's workers) of ``master_pid``, in MB."""
    try:
        children = psutil.Process(master_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return sorted(child.memory_info().rss / 1e6 for child in children)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per measurement")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rows", type=int, default=120_000, help="training rows")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per server")
    args = parser.parse_args()

    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    workdir = Path(tempfile.mkdtemp(prefix="model-server-bench-"))
    processes: list[subprocess.Popen] = []
    stack = contextlib.ExitStack()
    try:
        champion = served_champion(
            workdir, args.rows, server_env={"MODEL_SERVER_LOG_LEVEL": "warning"}
        )
        mlflow_url, ours = stack.enter_context(champion)
        ours_port, mlflow_serve_port = ours.port, free_port()
        (workdir / "mlflow-serve").mkdir()
        theirs = start(
            [str(BIN / "mlflow"), "models", "serve", "-m", "models:/house-price@champion",
             "--env-manager", "local", "-w", "2", "-h", "127.0.0.1",
             "-p", str(mlflow_serve_port)],
            workdir / "mlflow-serve" / "serve.log",
            # mlflow execs `uvicorn` by name: the venv's bin must be on PATH.
            {"MLFLOW_TRACKING_URI": mlflow_url, "PATH": f"{BIN}:{os.environ['PATH']}"},
            cwd=workdir / "mlflow-serve",
        )  # fmt: skip
        processes.append(theirs)
        wait_http(f"http://127.0.0.1:{mlflow_serve_port}/health", 180, theirs)
        idle = {"ours": worker_rss_mb(ours.pid), "mlflow": worker_rss_mb(theirs.pid)}

        predict = json.dumps({"listing": LISTING}).encode()
        invocations = json.dumps(
            {"dataframe_split": {"columns": COLUMNS, "data": [[LISTING[c] for c in COLUMNS]]}}
        ).encode()
        for port, path, body in (
            (ours_port, "/predict", predict),
            (ours_port, "/explain", predict),
            (mlflow_serve_port, "/invocations", invocations),
        ):
            load(port, path, body, args.concurrency, 2.0)  # warm-up

        runs: dict[str, list[dict]] = {"ours /predict": [], "mlflow /invocations": []}
        for _ in range(args.rounds):
            runs["ours /predict"].append(
                load(ours_port, "/predict", predict, args.concurrency, args.seconds)
            )
            runs["mlflow /invocations"].append(
                load(mlflow_serve_port, "/invocations", invocations, args.concurrency,
                     args.seconds)
            )  # fmt: skip
        runs["ours /explain"] = [
            load(ours_port, "/explain", predict, args.concurrency, args.seconds)
        ]
        rss = {
            "ours /predict": worker_rss_mb(ours.pid),
            "ours /explain": worker_rss_mb(ours.pid),
            "mlflow /invocations": worker_rss_mb(theirs.pid),
        }
    finally:
        for process in reversed(processes):
            stop_process(process)
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)

    def best(name: str) -> dict:
        return max(runs[name], key=lambda run: run["rps"])

    print(f"\nconcurrency {args.concurrency}, {args.seconds:.0f} s per run, "
          f"{args.rounds} alternating rounds (best shown), {os.cpu_count()} CPUs\n")  # fmt: skip
    header = f"{'server':<22}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    print(header + f"{'requests':>10}{'errors':>8}  worker RSS MB")
    for name in ("ours /predict", "ours /explain", "mlflow /invocations"):
        run = best(name)
        print(
            f"{name:<22}{run['rps']:>9.1f}{run['p50']:>9.2f}{run['p95']:>9.2f}{run['p99']:>9.2f}"
            f"{run['n']:>10}{run['errors']:>8}  {', '.join(f'{v:.0f}' for v in rss[name])}"
        )
    ours_run, theirs_run, explain_run = (
        best("ours /predict"), best("mlflow /invocations"), best("ours /explain")
    )  # fmt: skip
    ratio = ours_run["rps"] / theirs_run["rps"]
    explain_ratio = explain_run["p50"] / ours_run["p50"]
    biggest = max(idle["ours"] or [0.0])
    verdicts = [
        (f"throughput {ratio:.2f}x MLflow's", ratio >= 10.0, ">= 10x"),
        (f"p99 {ours_run['p99']:.1f} ms vs {theirs_run['p99']:.1f} ms",
         ours_run["p99"] < theirs_run["p99"], "lower"),
        (f"predict p50 {ours_run['p50']:.2f} ms", ours_run["p50"] <= 3.0, "<= 3 ms"),
        (f"explain p50 {explain_run['p50']:.2f} ms ({explain_ratio:.2f}x predict p50)",
         explain_run["p50"] <= 10.0, "<= 10 ms"),
        (f"largest worker RSS when ready {biggest:.0f} MB", biggest <= 300, "<= 300 MB"),
        ("no failed request", all(r["errors"] == 0 for v in runs.values() for r in v), "0"),
    ]  # fmt: skip
    print()
    for text, ok, target in verdicts:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text} (target {target})")
    print(f"\nworker RSS MB when ready, before load: {json.dumps(idle, default=round)}")
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    print(f"all rounds: {json.dumps(runs, default=lambda v: round(v, 2))}")
    return 0 if all(ok for _, ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
