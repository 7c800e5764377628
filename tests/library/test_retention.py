"""Retention removes expired data and never what the champion, its lineage or the newest batch
of a group/day needs; against a local directory, a real S3 server (moto), SQLite and MLflow."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from mlflow.tracking import MlflowClient

from house_prices import keys, registry, retention
from house_prices.retention import RetentionSettings
from house_prices.settings import Settings
from house_prices.storage import LocalStore, open_store
from testsupport import prediction_log

NOW = datetime.now(UTC)
LATER = NOW + timedelta(days=60)  # everything written now is 60 days old then


# The S3 variant talks to the session's moto server.
@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    return open_store(
        Settings(
            storage_backend="s3",
            s3_endpoint=request.getfixturevalue("s3_url"),
            s3_bucket=f"retention-{os.urandom(4).hex()}",
            s3_access_key="testing",
            s3_secret_key="testing",
        )
    )


def batch_unit(group: int, number: int) -> set[str]:
    clean = keys.clean_key(group, "Tuesday", number)
    return {keys.raw_key(group, "Tuesday", number), clean, "reports/" + clean[:-8] + ".json"}


def fill(store) -> dict:
    for group in (1, 2):
        for number in (1, 2, 3, 4):
            for key in batch_unit(group, number):
                store.put(key, b"x")
    for key in (
        keys.reference_key("champ"),
        keys.holdout_key("champ"),
        keys.reference_key("rejected"),
        keys.holdout_key("rejected"),
        "reports/drift/group=1/day=Tuesday/batch=0004/20260101.json",
        keys.run_report_key("run1", "summary"),
    ):
        store.put(key, b"x")
    return {
        "batch_keys": [keys.clean_key(1, "Tuesday", n) for n in (1, 2)],
        "reference_key": keys.reference_key("champ"),
        "holdout_key": keys.holdout_key("champ"),
    }


def test_old_data_goes_but_lineage_and_newest_batches_stay(store):
    lineage = fill(store)
    before = set(store.list(""))
    protected = retention.protected_keys(lineage)
    settings = RetentionSettings()

    # Nothing is old yet.
    assert retention.prune_store(store, protected, settings, NOW) == []

    planned = retention.prune_store(store, protected, settings, LATER, dry_run=True)
    assert set(store.list("")) == before
    deleted = retention.prune_store(store, protected, settings, LATER)
    assert deleted == planned
    expected_gone = (
        batch_unit(1, 3)
        | batch_unit(2, 1)
        | batch_unit(2, 2)
        | batch_unit(2, 3)
        | {keys.reference_key("rejected"), keys.holdout_key("rejected")}
        | {"reports/drift/group=1/day=Tuesday/batch=0004/20260101.json"}
        | {keys.run_report_key("run1", "summary")}
    )
    assert set(deleted) == expected_gone
    kept = set(store.list(""))
    assert kept == before - expected_gone
    # The champion's batches with their cleaning reports, and the newest batch of each
    # group/day (the next run's ingest and cleaning start from it).
    assert batch_unit(1, 1) | batch_unit(1, 2) | batch_unit(1, 4) | batch_unit(2, 4) <= kept
    assert {keys.reference_key("champ"), keys.holdout_key("champ")} <= kept


def test_zero_days_keeps_for_ever_and_no_champion_protects_nothing(store):
    fill(store)
    keep_all = RetentionSettings(batches_days=0, reports_days=0)
    assert retention.prune_store(store, set(), keep_all, LATER) == []
    deleted = retention.prune_store(
        store, retention.protected_keys(None), RetentionSettings(), LATER
    )
    assert batch_unit(1, 1) <= set(deleted) and not batch_unit(1, 4) & set(deleted)


def test_mixed_ages_in_one_store(tmp_path):
    store = LocalStore(tmp_path)
    for number in (1, 2, 3):
        for key in batch_unit(1, number):
            store.put(key, b"x")
    old = (NOW - timedelta(days=20)).timestamp()
    for key in batch_unit(1, 1):
        os.utime(tmp_path / key, (old, old))
    deleted = retention.prune_store(store, set(), RetentionSettings(batches_days=14), NOW)
    assert set(deleted) == batch_unit(1, 1)  # batch 2 is recent, batch 3 the newest
    deleted = retention.prune_store(store, set(), RetentionSettings(batches_days=30), NOW)
    assert deleted == []


def test_settings_from_the_environment():
    assert RetentionSettings.from_env({}) == RetentionSettings()
    settings = RetentionSettings.from_env({"HOUSE_PRICES_RETAIN_PREDICTIONS_DAYS": "7"})
    assert settings.predictions_days == 7 and settings.batches_days == 14
    with pytest.raises(ValueError, match="HOUSE_PRICES_RETAIN_BATCHES_DAYS='two'"):
        RetentionSettings.from_env({"HOUSE_PRICES_RETAIN_BATCHES_DAYS": "two"})
    with pytest.raises(ValueError, match="negative"):
        RetentionSettings.from_env({"HOUSE_PRICES_RETAIN_REPORTS_DAYS": "-1"})


def test_prediction_log_rows_older_than_the_limit_are_deleted(tmp_path):
    url = f"sqlite:///{tmp_path}/predictions.db"
    prediction_log.write_aged_rows(url, (1, 29, 31, 90), NOW)
    assert retention.prune_predictions(url, RetentionSettings(predictions_days=30), NOW) == 2
    assert prediction_log.request_ids(url) == ["age1", "age29"]
    assert retention.prune_predictions(url, RetentionSettings(predictions_days=0), NOW) == 0
    assert (
        retention.prune_predictions(f"sqlite:///{tmp_path}/none.db", RetentionSettings(), NOW) == 0
    )


@pytest.mark.integration
def test_only_old_rejected_versions_are_removed(mlflow_url):
    client = MlflowClient(mlflow_url)
    name = f"retention-{os.urandom(3).hex()}"
    experiment = client.create_experiment(name)
    client.create_registered_model(name)
    outcomes = {"1": True, "2": False, "3": False, "4": True, "5": False}
    ages = {"1": 40, "2": 40, "3": 2, "4": 40, "5": None}
    runs = {}
    for number, promote in outcomes.items():
        run = client.create_run(experiment)
        runs[number] = run.info.run_id
        client.log_dict(run.info.run_id, {"batch_keys": []}, "lineage.json")
        version = client.create_model_version(name, f"{run.info.artifact_uri}/m", run.info.run_id)
        if ages[number] is None:
            continue  # undecided
        registry.record_decision(client, version, {"promote": promote, "reason": "test"})
        decided = (NOW - timedelta(days=ages[number])).isoformat(timespec="seconds")
        client.set_model_version_tag(name, number, "decided_at", decided)

    settings = RetentionSettings(unpromoted_days=14)
    assert retention.prune_unpromoted_versions(client, name, settings, NOW, dry_run=True) == ["2"]
    assert len(client.search_model_versions(f"name = '{name}'")) == 5
    assert retention.prune_unpromoted_versions(client, name, settings, NOW) == ["2"]
    left = sorted(v.version for v in client.search_model_versions(f"name = '{name}'"))
    assert left == ["1", "3", "4", "5"]
    assert client.get_run(runs["2"]).info.lifecycle_stage == "deleted"
    assert client.get_run(runs["1"]).info.lifecycle_stage == "active"
    assert registry.champion_version(client, name).version == "4"
    assert retention.champion_lineage(client, name) == {"batch_keys": []}


def test_airflow_task_logs_older_than_the_limit_are_deleted(tmp_path):
    old_log = tmp_path / "dag_id=x" / "run_id=old" / "task_id=t" / "attempt=1.log"
    new_log = tmp_path / "dag_id=x" / "run_id=new" / "task_id=t" / "attempt=1.log"
    for path in (old_log, new_log):
        path.parent.mkdir(parents=True)
        path.write_text("log")
    old = (NOW - timedelta(days=31)).timestamp()
    os.utime(old_log, (old, old))
    settings = RetentionSettings(airflow_days=30)
    assert retention.prune_airflow_logs(tmp_path, settings, NOW, dry_run=True) == [old_log]
    assert old_log.exists()
    assert retention.prune_airflow_logs(tmp_path, settings, NOW) == [old_log]
    assert not (tmp_path / "dag_id=x" / "run_id=old").exists() and new_log.exists()
