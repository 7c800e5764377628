"""Disk growth per simulated day at the default schedule, without retention and with it.

Simulates the embedded runtime's growing stores day by day, the pipeline DAG running every
five minutes (288 runs a day): each run stores a raw batch, its cleaned copy, the cleaning
report and a drift report (``LocalStore``, the embedded object store), writes task log files
(one per pipeline task), and the model server logs predictions (SQLite prediction log, the
embedded one). The objects are real outputs of the library (the emulator's generator,
``cleaning.clean``, ``drift.detect_drift``, ``storage.write_parquet``), made once for a small
pool of batches and written again under each run's key and time. One copy of the state is
never pruned; the other gets the real retention (``house_prices.retention``: ``prune_store``,
``prune_predictions``, ``prune_airflow_logs``) once a simulated day, as the maintenance DAG
does, with the default limits.

Not simulated: MLflow versions (a training only follows drift; rejected versions are removed
by ``prune_unpromoted_versions`` + ``mlflow gc``, see tests/pipeline/test_maintenance_dag.py)
and Airflow's metadata database (``airflow db clean``).

    .venv/bin/python benchmarks/retention_growth_bench.py [--days 40] [--rows-per-batch 1000]
        [--predictions-per-minute 10] [--scratch /dev/shm]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from data_api_emulator.generator import generate_batch  # noqa: E402
from house_prices import cleaning, drift, keys, retention  # noqa: E402
from house_prices.schema import RAW_COLUMNS  # noqa: E402
from house_prices.storage import LocalStore  # noqa: E402
from model_server import predictions_log  # noqa: E402

RUNS_PER_DAY = 24 * 60 // 5
PIPELINE_TASKS = 6  # ingest, clean, check_drift, decide, and a train/promote or skip branch
START = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def batch_pool(rows: int, size: int = 8) -> list[dict[str, bytes]]:
    """Real raw/clean parquet and JSON reports for ``size`` generated batches."""
    reference = cleaning.clean(_as_received(generate_batch(0, "Monday", 1, rows, seed=1))).frame
    pool = []
    for number in range(1, size + 1):
        raw = _as_received(generate_batch(1, "Tuesday", number, rows, seed=number))
        result = cleaning.clean(raw)
        pool.append(
            {
                "raw": _parquet(raw),
                "clean": _parquet(result.frame),
                "clean_report": _json(result.report),
                "drift_report": _json(drift.detect_drift(reference, result.frame)),
            }
        )
    return pool


def _as_received(frame):
    """What ingest stores: the contract's columns, as text (``schema.parse_response``)."""
    return frame.reindex(columns=list(RAW_COLUMNS)).astype("string")


def _parquet(frame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _json(document) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True, default=str).encode()


def _put(store: LocalStore, key: str, data: bytes, when: datetime) -> None:
    store.put(key, data)
    stamp = when.timestamp()
    os.utime(store.root / key, (stamp, stamp))


def simulate_day(state: Path, day: int, pool, listing: dict, per_minute: int, log_bytes: int):
    store = LocalStore(state / "objects")
    logs = state / "logs"
    day_start = START + timedelta(days=day)
    group, weekday = day + 1, DAYS[day % 7]
    for run in range(RUNS_PER_DAY):
        when = day_start + timedelta(minutes=5 * run)
        objects = pool[run % len(pool)]
        clean = keys.clean_key(group, weekday, run + 1)
        _put(store, keys.raw_key(group, weekday, run + 1), objects["raw"], when)
        _put(store, clean, objects["clean"], when)
        _put(store, keys.clean_report_key(clean), objects["clean_report"], when)
        _put(store, keys.drift_report_key(clean, "1"), objects["drift_report"], when)
        for task in range(PIPELINE_TASKS):
            run_dir = logs / f"dag_id=house_price_pipeline/run_id=d{day}r{run}"
            path = run_dir / f"task_{task}" / "attempt=1.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x" * log_bytes)
            os.utime(path, (when.timestamp(), when.timestamp()))
    url = f"sqlite:///{state}/predictions.db"
    engine = sa.create_engine(url)
    predictions_log.predictions.metadata.create_all(engine)
    rows = [
        {
            "request_id": f"d{day}-{minute}-{n}",
            "created_at": day_start + timedelta(minutes=minute),
            "endpoint": "predict",
            "model_name": "house-price",
            "model_version": "1",
            "inputs": [listing],
            "output": {"predictions": [412345.67], "model_version": "1"},
            "latency_ms": 12.5,
        }
        for minute in range(24 * 60)
        for n in range(per_minute)
    ]
    with engine.begin() as connection:
        connection.execute(predictions_log.predictions.insert(), rows)
    engine.dispose()
    return store, url, logs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--rows-per-batch", type=int, default=1000)
    parser.add_argument("--predictions-per-minute", type=int, default=10)
    parser.add_argument("--task-log-bytes", type=int, default=4096)
    parser.add_argument("--scratch", help="directory for the two simulated states (e.g. /dev/shm)")
    args = parser.parse_args()
    pool = batch_pool(args.rows_per_batch)
    listing = {
        "bed": 3,
        "bath": 2,
        "acre_lot": 0.25,
        "house_size": 1800,
        "state": "Texas",
        "status": "for_sale",
    }
    settings = retention.RetentionSettings()
    print(
        f"{RUNS_PER_DAY} runs/day, {args.rows_per_batch} rows/batch "
        f"({len(pool[0]['raw']) + len(pool[0]['clean'])} bytes raw+clean), "
        f"{args.predictions_per_minute} predictions/min, {args.task_log_bytes} B per task log; "
        f"limits: batches/reports {settings.batches_days} d, predictions "
        f"{settings.predictions_days} d, task logs {settings.airflow_days} d"
    )
    print(f"{'day':>4} {'no retention MB':>16} {'+MB/day':>8} {'retention MB':>13} {'+MB/day':>8}")
    with tempfile.TemporaryDirectory(dir=args.scratch) as scratch:
        kept, pruned = Path(scratch) / "kept", Path(scratch) / "pruned"
        previous = {kept: 0, pruned: 0}
        for day in range(args.days):
            sizes = {}
            for state in (kept, pruned):
                store, url, logs = simulate_day(
                    state, day, pool, listing, args.predictions_per_minute, args.task_log_bytes
                )
                if state is pruned:
                    now = START + timedelta(days=day + 1)
                    retention.prune_store(store, set(), settings, now)
                    retention.prune_predictions(url, settings, now)
                    retention.prune_airflow_logs(logs, settings, now)
                sizes[state] = tree_size(state)
            print(
                f"{day + 1:>4} {sizes[kept] / 1e6:>16.1f} "
                f"{(sizes[kept] - previous[kept]) / 1e6:>8.1f} {sizes[pruned] / 1e6:>13.1f} "
                f"{(sizes[pruned] - previous[pruned]) / 1e6:>8.1f}",
                flush=True,
            )
            previous = sizes


if __name__ == "__main__":
    main()
