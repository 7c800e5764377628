"""The pipeline's steps against a real MLflow server: honest holdouts and a fair gate."""

from __future__ import annotations

import pandas as pd
import pytest

from data_api_emulator.generator import generate_batch
from house_prices import keys, registry, run_documents
from house_prices import pipeline as steps
from house_prices.identity import LISTING_ID, shared_listings
from house_prices.settings import Settings
from house_prices.storage import open_store, read_parquet, write_parquet
from house_prices.training import TrainingConfig

pytestmark = pytest.mark.integration

ROWS = 3000
CONFIG = steps.PipelineConfig(training=TrainingConfig(params={"n_estimators": 10}))


@pytest.fixture(scope="module")
def settings(tmp_path_factory, mlflow_url):
    workdir = tmp_path_factory.mktemp("fair")
    return Settings(
        storage_root=workdir / "objects",
        mlflow_tracking_uri=mlflow_url,
        model_name=f"fair-{workdir.name.lower()}",
        mlflow_experiment=f"fair-{workdir.name.lower()}",
    )


def store_batch(settings: Settings, batch: int, repeat_from: pd.DataFrame | None = None) -> str:
    raw = generate_batch(5, "Tuesday", batch, ROWS, seed=3)
    if repeat_from is not None:  # a third of the batch serves listings of an earlier one again
        raw = pd.concat([raw.iloc[: ROWS * 2 // 3], repeat_from.iloc[: ROWS // 3]])
    key = keys.raw_key(5, "Tuesday", batch)
    write_parquet(open_store(settings), key, raw.astype("string"))
    return key


def train_and_promote(settings: Settings, raw_keys: list[str]) -> tuple[dict, dict]:
    cleaned = steps.clean_batches(settings, raw_keys, CONFIG)
    drift = steps.check_drift(settings, cleaned["latest_clean_key"], CONFIG)
    trained = steps.train(
        settings, 5, "Tuesday", cleaned["clean_keys"], drift["report_key"], CONFIG
    )
    return trained, steps.promote(settings, trained["version"], CONFIG)


def version_tags(settings: Settings, version: str) -> dict[str, str]:
    client = registry.connect(settings.mlflow_tracking_uri)
    return registry.find_version_by_number(client, settings.model_name, version).tags


def test_overlapping_batches_are_trained_once_per_listing_and_judged_fairly(settings):
    first_key = store_batch(settings, 1)
    trained, promoted = train_and_promote(settings, [first_key])
    assert promoted["promote"] and promoted["holdout"]["overlap"] == 0

    first_raw = read_parquet(open_store(settings), first_key)
    second_key = store_batch(settings, 2, repeat_from=first_raw)
    trained, decision = train_and_promote(settings, [first_key, second_key])
    assert trained["listing_copies_removed"] >= ROWS // 3 * 0.9
    store = open_store(settings)
    tags = version_tags(settings, trained["version"])
    train_rows = read_parquet(store, tags["reference_key"])
    holdout = read_parquet(store, tags["holdout_key"])
    assert train_rows[LISTING_ID].is_unique
    assert shared_listings(train_rows, holdout) == 0
    champion_rows = read_parquet(store, version_tags(settings, "1")["reference_key"])
    assert shared_listings(champion_rows, holdout) == 0
    assert "listings neither was trained on" in decision["reason"]
    assert tags["holdout_overlap"] == "0"
    assert tags["holdout_rows"] == str(len(holdout))
    assert len(tags["holdout_fingerprint"]) == 20
    client = registry.connect(settings.mlflow_tracking_uri)
    listed = registry.list_decisions(client, settings.model_name)[0]
    assert (listed["holdout_rows"], listed["holdout_overlap"]) == (str(len(holdout)), "0")


def test_a_holdout_the_champion_trained_on_refuses_promotion(settings):
    """Should a champion's training rows ever hold a listing of the holdout (a changed
    holdout share, a hand-edited reference), the gate refuses and records why."""
    store = open_store(settings)
    raw_keys = [keys.raw_key(5, "Tuesday", n) for n in (1, 2)] + [store_batch(settings, 3)]
    cleaned = steps.clean_batches(settings, raw_keys, CONFIG)
    drift = steps.check_drift(settings, cleaned["latest_clean_key"], CONFIG)
    trained = steps.train(
        settings, 5, "Tuesday", cleaned["clean_keys"], drift["report_key"], CONFIG
    )
    tags = version_tags(settings, trained["version"])
    client = registry.connect(settings.mlflow_tracking_uri)
    champion = registry.champion_version(client, settings.model_name)
    champion_key = champion.tags["reference_key"]
    champion_rows = read_parquet(store, champion_key)
    leaked = read_parquet(store, tags["holdout_key"]).head(7)
    write_parquet(store, champion_key, pd.concat([champion_rows, leaked], ignore_index=True))
    try:
        decision = steps.promote(settings, trained["version"], CONFIG)
    finally:
        write_parquet(store, champion_key, champion_rows)
    assert decision["promote"] is False
    assert decision["reason"].startswith("refused: 7 of the")
    tags = version_tags(settings, trained["version"])
    assert tags["decision"] == "rejected" and tags["holdout_overlap"] == "7"
    assert registry.champion_version(client, settings.model_name).version == champion.version


def test_a_missing_run_document_is_an_error_that_names_it(settings):
    client = registry.connect(settings.mlflow_tracking_uri)
    run_id = registry.find_version_by_number(client, settings.model_name, "1").run_id
    assert registry.read_document(client, run_id, run_documents.LINEAGE)["listings"] > 0
    with pytest.raises(registry.RegistryError, match=f"run {run_id} has no readable nothing.json"):
        registry.read_document(client, run_id, "nothing.json")
