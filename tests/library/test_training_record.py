"""The record a training run logs with its model, built without MLflow or a store."""

import pandas as pd

from house_prices import keys, run_documents
from house_prices.features import feature_summary
from house_prices.identity import LISTING_ID, holdout_fingerprint
from house_prices.training import TrainingConfig
from house_prices.training_record import training_record


def _listings(ids: range, size: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bed": 3.0,
            "bath": 2.0,
            "acre_lot": 0.2,
            "house_size": [size + i for i in ids],
            "state": pd.Series(["Ohio"] * len(ids), dtype="string"),
            "status": pd.Series(["sold"] * len(ids), dtype="string"),
            "price": 200_000.0,
            LISTING_ID: pd.Series([f"{i:016x}" for i in ids], dtype="string"),
        }
    )


def _record(**overrides):
    arguments = {
        "group": 5,
        "day": "Tuesday",
        "clean_keys": [keys.clean_key(5, "Tuesday", 1), keys.clean_key(5, "Tuesday", 2)],
        "fingerprint": "abc123",
        "training": TrainingConfig(family="random_forest", params={"n_estimators": 7}),
        "train_rows": _listings(range(0, 30), 1000.0),
        "holdout": _listings(range(30, 40), 5000.0),
        "copies_removed": 4,
        "drift_report": {"dataset_drift": False},
        "cleaning_reports": {"clean/x": {"rows_in": 10}},
        "importance": {"house_size": 1.0},
    }
    return training_record(**{**arguments, **overrides})


def test_lineage_counts_listings_copies_and_names_where_the_data_is():
    record = _record()
    lineage = record.documents[run_documents.LINEAGE]
    assert lineage["listings"] == 40
    assert lineage["rows"] == 44
    assert lineage["listing_copies_removed"] == 4
    assert (lineage["train_rows"], lineage["holdout_rows"]) == (30, 10)
    assert lineage["batch_keys"] == [keys.clean_key(5, "Tuesday", n) for n in (1, 2)]
    assert lineage["holdout_fingerprint"] == holdout_fingerprint(_listings(range(30, 40), 0.0))
    assert record.reference_key == lineage["reference_key"] == keys.reference_key("abc123")
    assert record.holdout_key == lineage["holdout_key"] == keys.holdout_key("abc123")


def test_tags_are_strings_that_find_the_data_and_the_newest_batch():
    record = _record()
    assert record.tags == {
        "data_fingerprint": "abc123",
        "reference_key": keys.reference_key("abc123"),
        "holdout_key": keys.holdout_key("abc123"),
        "group": "5",
        "day": "Tuesday",
        "latest_batch": keys.clean_key(5, "Tuesday", 2),
    }


def test_params_name_the_family_its_parameters_and_the_sizes():
    params = _record().params
    assert params["family"] == "random_forest"
    assert params["n_estimators"] == 7
    assert (params["train_rows"], params["holdout_rows"]) == (30, 10)
    assert (params["listing_copies_removed"], params["batches"]) == (4, 2)


def test_every_run_document_is_recorded_and_the_summary_is_of_the_training_rows():
    record = _record()
    assert set(record.documents) == set(run_documents.RUN_DOCUMENTS)
    assert record.documents[run_documents.DRIFT_REPORT] == {"dataset_drift": False}
    assert record.documents[run_documents.CLEANING_REPORT] == {"clean/x": {"rows_in": 10}}
    assert record.documents[run_documents.SHAP_IMPORTANCE] == {"house_size": 1.0}
    summary = record.documents[run_documents.FEATURE_SUMMARY]
    assert summary == feature_summary(_listings(range(0, 30), 1000.0))
    assert summary != feature_summary(_listings(range(30, 40), 5000.0))
