"""Embedded backup -> wipe -> restore with the real CLI, while MLflow serves writes.

The state directory is built from the platform's real parts: a real MLflow server (SQLite) with
registered versions, decisions and a champion; Airflow's SQLite database migrated by Airflow
with a triggered run of the pipeline DAG; the model server's prediction log (WAL mode, rows
still in the WAL file while the backup runs); an object store tree and the secrets file.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from mlflow.tracking import MlflowClient

from house_prices import registry
from model_server import predictions_log
from testsupport import servers

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MODEL = "house-price"
DAG_ID = "house_price_pipeline"


def appliance(state: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(servers.BIN / "python"), str(REPO / "embedded" / "appliance.py"), *args],
        env={**os.environ, "APPLIANCE_STATE": str(state)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def airflow(home: Path, *args: str) -> None:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
    }
    subprocess.run(
        [str(servers.BIN / "airflow"), *args], env=env, check=True, capture_output=True, timeout=300
    )


def register_versions(client: MlflowClient, count: int) -> None:
    """``count`` versions with artifacts and decisions; version 2 ends up champion."""
    experiment = client.create_experiment("backup-test")
    client.create_registered_model(MODEL)
    for number in range(1, count + 1):
        run = client.create_run(experiment)
        client.log_metric(run.info.run_id, "rmse", 1000.0 * number)
        client.log_dict(run.info.run_id, {"batches": [number]}, "lineage.json")
        client.log_dict(run.info.run_id, {"flavors": {}}, "model/MLmodel")
        version = client.create_model_version(
            MODEL, f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        )
        promote = number <= 2
        registry.record_decision(
            client,
            version,
            {"promote": promote, "reason": f"decision {number}", "champion_version": number - 1},
        )


def snapshot_platform(client: MlflowClient, state: Path) -> dict:
    """What a restore must bring back, read through the services' own interfaces."""
    champion = registry.champion_version(client, MODEL)
    decisions = registry.list_decisions(client, MODEL)
    for row in decisions:
        row.pop("decided_at")  # identical anyway; kept out so a diff reads well
    with sqlite3.connect(state / "airflow" / "airflow.db") as db:
        runs = db.execute("SELECT dag_id, run_id, state, conf FROM dag_run ORDER BY id").fetchall()
    engine = sa.create_engine(f"sqlite:///{state}/model_server/predictions.db")
    with engine.connect() as connection:
        logged = connection.execute(sa.select(predictions_log.predictions.c.request_id)).all()
    engine.dispose()
    with tempfile.TemporaryDirectory() as scratch:
        lineage = client.download_artifacts(champion.run_id, "lineage.json", scratch)
        lineage = json.loads(Path(lineage).read_text())
    objects = {
        path.relative_to(state / "objects").as_posix(): path.read_bytes()
        for path in (state / "objects").rglob("*")
        if path.is_file()
    }
    return {
        "champion": champion.version,
        "decisions": decisions,
        "dag_runs": runs,
        "predictions": sorted(row[0] for row in logged),
        "lineage": lineage,
        "objects": objects,
    }


def log_predictions(engine: sa.Engine, first: int, count: int) -> None:
    rows = [
        {
            "request_id": f"req{n:06d}",
            "created_at": datetime.now(UTC),
            "endpoint": "predict",
            "model_name": MODEL,
            "model_version": "2",
            "inputs": {"area": n},
            "output": {"price": n * 10.0},
            "latency_ms": 1.5,
        }
        for n in range(first, first + count)
    ]
    with engine.begin() as connection:
        for row in rows:
            connection.execute(predictions_log.predictions.insert().values(**row))


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory):
    """Build a state, back it up while MLflow takes writes; yield (state, archive, before)."""
    root = tmp_path_factory.mktemp("embedded-backup")
    state = root / "state"
    (state / "objects" / "raw" / "group=1").mkdir(parents=True)
    (state / "objects" / "raw" / "group=1" / "batch=0001.parquet").write_bytes(os.urandom(50_000))
    (state / "objects" / "reports.json").write_text('{"drift": false}')
    (state / "logs" / "airflow" / "dag_id=x").mkdir(parents=True)
    (state / "logs" / "airflow" / "dag_id=x" / "attempt=1.log").write_text("task log\n")
    (state / "logs" / "mlflow.log").write_text("service log: not kept\n")
    secrets = state / "secrets.env"
    secrets.write_text("AIRFLOW__CORE__FERNET_KEY=not-a-real-key\n")
    secrets.chmod(0o600)
    airflow(state / "airflow", "db", "migrate")
    airflow(state / "airflow", "dags", "reserialize")
    airflow(state / "airflow", "dags", "trigger", DAG_ID, "-c", '{"group_number": 3}')

    # The prediction log the way the model server opens it (WAL); the engine stays open so the
    # last rows are still in the -wal file, which the archive does not carry as a file.
    (state / "model_server").mkdir()
    log = predictions_log.PredictionLog(f"sqlite:///{state}/model_server/predictions.db")
    log_predictions(log.engine, 0, 200)
    with log.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    log_predictions(log.engine, 200, 50)
    assert (state / "model_server" / "predictions.db-wal").stat().st_size > 0

    with servers.mlflow_server(state / "mlflow") as url:
        client = MlflowClient(url)
        register_versions(client, 4)
        before = snapshot_platform(client, state)

        # Writes keep arriving while the backup runs.
        stop = threading.Event()
        busy = client.create_run(client.get_experiment_by_name("backup-test").experiment_id)

        def write_metrics() -> None:
            step = 0
            while not stop.is_set():
                client.log_metric(busy.info.run_id, "load", float(step), step=step)
                step += 1

        writer = threading.Thread(target=write_metrics)
        writer.start()
        try:
            result = appliance(state, "backup", str(root / "backups"))
        finally:
            stop.set()
            writer.join()
        assert result.returncode == 0, result.stderr
    log.engine.dispose()
    (archive,) = (root / "backups").iterdir()
    yield state, archive, before, result.stdout


def test_backup_is_one_private_archive_with_a_manifest(backed_up):
    _, archive, _, output = backed_up
    assert archive.name.startswith("appliance-backup-") and archive.name.endswith(".tar.gz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert "holds the generated secrets" in output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert names[-1] == "MANIFEST.json"
    listed = {m["path"]: m for m in manifest["members"]}
    assert set(listed) == set(names[:-1])
    assert {
        "secrets.env",
        "mlflow/mlflow.db",
        "airflow/airflow.db",
        "model_server/predictions.db",
        "objects/raw/group=1/batch=0001.parquet",
        "logs/airflow/dag_id=x/attempt=1.log",
    } <= set(listed)
    assert listed["secrets.env"]["mode"] == 0o600
    assert not any(name.endswith(("-wal", "-shm")) or name == "logs/mlflow.log" for name in names)
    assert any(name.startswith("mlflow/art/") for name in names)


def test_restore_brings_back_champion_versions_decisions_runs_and_predictions(backed_up, tmp_path):
    _, archive, before, _ = backed_up
    restored = tmp_path / "restored"
    result = appliance(restored, "restore", str(archive))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((restored / "secrets.env").stat().st_mode) == 0o600
    assert stat.S_IMODE(restored.stat().st_mode) == 0o700
    for db in ("mlflow/mlflow.db", "airflow/airflow.db", "model_server/predictions.db"):
        with sqlite3.connect(restored / db) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with servers.mlflow_server(restored / "mlflow") as url:
        after = snapshot_platform(MlflowClient(url), restored)
    assert after == before
    assert len(after["predictions"]) == 250  # the 50 rows that were only in the WAL included
    assert [row["version"] for row in after["decisions"]] == ["4", "3", "2", "1"]
    assert after["champion"] == "2"
    assert [run[0] for run in after["dag_runs"]] == [DAG_ID]
    assert list(tmp_path.iterdir()) == [restored]  # no staging directory left behind


def _refused(state: Path, archive: Path, *flags: str) -> str:
    result = appliance(state, "restore", str(archive), *flags)
    assert result.returncode != 0
    return result.stderr


def test_corrupt_and_truncated_archives_are_refused_without_touching_anything(backed_up, tmp_path):
    _, archive, _, _ = backed_up
    data = archive.read_bytes()
    flipped = tmp_path / "flipped.tar.gz"
    flipped.write_bytes(
        data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1 :]
    )
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: int(len(data) * 0.9)])
    target = tmp_path / "target"
    target.mkdir()
    for bad in (flipped, truncated):
        message = _refused(target, bad)
        assert "nothing was restored" in message, message
        assert "corrupt" in message or "manifest" in message, message
        assert list(target.iterdir()) == []
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            ["flipped.tar.gz", "truncated.tar.gz", "target"]
        )


def test_a_member_that_disagrees_with_the_manifest_is_refused(backed_up, tmp_path):
    """A well-formed archive whose content was changed after the manifest was written."""
    _, archive, _, _ = backed_up
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(tampered, "w:gz") as target:
        for info in source:
            data = source.extractfile(info).read()
            if info.name == "secrets.env":
                data = data.replace(b"not-a-real-key", b"an-other-key!!")
            target.addfile(info, io.BytesIO(data))
    message = _refused(tmp_path / "state", tampered)
    assert "does not match its manifest" in message and "secrets.env" in message, message
    assert not (tmp_path / "state").exists()


def test_non_empty_state_is_refused_unless_forced_and_then_moved_aside(backed_up, tmp_path):
    _, archive, _, _ = backed_up
    state = tmp_path / "state"
    state.mkdir()
    (state / "precious.txt").write_text("mine")
    message = _refused(state, archive)
    assert "not empty" in message and "--force" in message, message
    assert [p.name for p in state.iterdir()] == ["precious.txt"]

    result = appliance(state, "restore", str(archive), "--force")
    assert result.returncode == 0, result.stderr
    (aside,) = (p for p in tmp_path.iterdir() if p.name.startswith("state.before-restore-"))
    assert (aside / "precious.txt").read_text() == "mine"
    assert str(aside) in result.stdout
    assert (state / "secrets.env").is_file() and not (state / "precious.txt").exists()


def test_restore_is_refused_while_the_platform_runs(backed_up, tmp_path):
    _, archive, _, _ = backed_up
    state = tmp_path / "state"
    state.mkdir()
    (state / "supervisord.pid").write_text(str(os.getpid()))  # a live process
    message = _refused(state, archive, "--force")
    assert "./appliance down" in message, message
    assert [p.name for p in state.iterdir()] == ["supervisord.pid"]


def test_backup_refuses_a_directory_without_appliance_state(tmp_path):
    (tmp_path / "empty").mkdir()
    result = appliance(tmp_path / "empty", "backup", str(tmp_path / "out"))
    assert result.returncode != 0 and "no appliance state" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    shutil.rmtree(tmp_path / "empty")


def test_a_backup_directory_inside_the_state_is_not_archived(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "secrets.env").write_text("KEY=value\n")
    with sqlite3.connect(state / "small.db") as db:
        db.execute("CREATE TABLE t (x)")
    for _ in range(2):
        result = appliance(state, "backup", str(state / "backups"))
        assert result.returncode == 0, result.stderr
        time.sleep(1.1)  # archive names carry the second
    newest = sorted((state / "backups").iterdir())[-1]
    with tarfile.open(newest) as tar:
        assert sorted(tar.getnames()) == ["MANIFEST.json", "secrets.env", "small.db"]
