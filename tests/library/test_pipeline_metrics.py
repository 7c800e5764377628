"""The pipeline's figures from stored records: run records, cleaning and drift reports."""

from __future__ import annotations

from house_prices import pipeline_metrics
from house_prices.keys import run_record_key as record_key
from house_prices.run_records import task_record
from house_prices.storage import LocalStore, write_json


def values(families) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def record(run, task, state, started, ended, result=None):
    return task_record(run, task, state, started, ended, result)


RECORDS = [
    record("run-1", "ingest", "success", 100.0, 102.0, {"written": True, "rows": 4000}),
    record("run-1", "train", "success", 105.0, 165.0),
    record("run-2", "ingest", "success", 400.0, 401.0, {"written": False, "rows": 4000}),
    record("run-2", "clean", "failed", 401.0, 401.5),
]


def test_runs_outcome_steps_and_newest_batch():
    got = values(pipeline_metrics.metrics_from_records(RECORDS))
    assert got[("house_prices_pipeline_runs", (("state", "success"),))] == 1
    assert got[("house_prices_pipeline_runs", (("state", "failed"),))] == 1
    assert got[("house_prices_pipeline_last_run_failed", ())] == 1
    assert got[("house_prices_pipeline_last_run_timestamp_seconds", ())] == 401.5
    # The newest run of each step: ingest from run-2, train from run-1.
    assert got[("house_prices_pipeline_step_duration_seconds", (("task", "ingest"),))] == 1.0
    assert got[("house_prices_pipeline_step_duration_seconds", (("task", "train"),))] == 60.0
    # run-2's ingest stored nothing new: the newest batch is run-1's.
    assert got[("house_prices_pipeline_newest_batch_timestamp_seconds", ())] == 102.0


def test_a_successful_newest_run_clears_the_failure():
    later = [*RECORDS, record("run-3", "ingest", "success", 700.0, 701.0, {"written": True})]
    got = values(pipeline_metrics.metrics_from_records(later))
    assert got[("house_prices_pipeline_last_run_failed", ())] == 0
    assert got[("house_prices_pipeline_newest_batch_timestamp_seconds", ())] == 701.0


def test_no_records_no_samples():
    assert values(pipeline_metrics.metrics_from_records([])) == {
        ("house_prices_pipeline_runs", (("state", "success"),)): 0,
        ("house_prices_pipeline_runs", (("state", "failed"),)): 0,
    }


def test_record_keys_are_safe_object_keys():
    assert record_key("scheduled__2026-12-02T02:35:00+00:00", "ingest") == (
        "runs/scheduled__2026-12-02T02_35_00+00_00/ingest.json"
    )


def test_store_figures(tmp_path):
    store = LocalStore(tmp_path)
    for batch, dropped in ((1, 3), (2, 5)):
        store.put(f"raw/group=3/day=Friday/batch={batch:04d}.parquet", b"x")
        write_json(
            store,
            f"reports/clean/group=3/day=Friday/batch={batch:04d}.json",
            {
                "rows_in": 100, "rows_out": 100 - dropped, "price_missing": dropped,
                "duplicate": 0, "identity_by_address": 90, "identity_by_description": 10,
            },
        )  # fmt: skip
    write_json(
        store,
        "reports/drift/group=3/day=Friday/batch=0001-no-champion.json",
        {"features": {}, "drifted_features": [], "dataset_drift": None},
    )
    for batch, statistic in ((1, 0.02), (2, 0.4)):
        write_json(
            store,
            f"reports/drift/group=3/day=Friday/batch={batch:04d}-champion=1.json",
            {
                "features": {
                    "price": {"test": "ks", "statistic": statistic, "p_value": 1e-9,
                              "drifted": statistic > 0.1},
                    "state": {"test": "chi2+js", "drifted": False, "note": "no values"},
                },
                "drifted_features": ["price"] if statistic > 0.1 else [],
                "dataset_drift": statistic > 0.1,
            },
        )  # fmt: skip
    for item in RECORDS:
        write_json(store, record_key(item["run_id"], item["task_id"]), item)
    got = values(pipeline_metrics._store_metrics(store))
    where = (("day", "Friday"), ("group", "3"))
    assert got[("house_prices_batches_stored", where)] == 2
    assert got[("house_prices_rows_ingested", where)] == 200
    assert got[("house_prices_rows_clean", where)] == 192
    assert (
        got[("house_prices_rows_dropped", (*where[:1], ("group", "3"), ("rule", "price_missing")))]
        == 8
    )
    rules = {labels for name, labels in got if name == "house_prices_rows_dropped"}
    assert {dict(labels)["rule"] for labels in rules} == {"price_missing", "duplicate"}
    # The newest batch's report (batch 2), never the report without a champion.
    assert got[("house_prices_drift_statistic", (("feature", "price"), ("test", "ks")))] == 0.4
    assert got[("house_prices_drift_detected", (("feature", "price"),))] == 1
    assert got[("house_prices_drift_detected", (("feature", "state"),))] == 0
    assert got[("house_prices_drifted_features", ())] == 1
    assert got[("house_prices_dataset_drift", ())] == 1
    assert got[("house_prices_pipeline_runs", (("state", "failed"),))] == 1
