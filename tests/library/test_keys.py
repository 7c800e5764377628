import pytest

from house_prices import keys


def test_derived_keys_are_named_from_the_batch_key():
    raw = keys.raw_key(5, "Tuesday", 3)
    assert raw == "raw/group=5/day=Tuesday/batch=0003.parquet"
    clean = keys.clean_key_of(raw)
    assert (
        clean == keys.clean_key(5, "Tuesday", 3) == "clean/group=5/day=Tuesday/batch=0003.parquet"
    )
    # The layouts of states written before these functions existed: unchanged.
    assert keys.clean_report_key(clean) == "reports/clean/group=5/day=Tuesday/batch=0003.json"
    assert keys.drift_report_key(clean, "4") == (
        "reports/drift/group=5/day=Tuesday/batch=0003-champion=4.json"
    )
    assert keys.drift_report_key(clean, None).endswith("batch=0003-no-champion.json")
    assert keys.BatchKey.parse(clean) == keys.BatchKey("clean", 5, "Tuesday", 3)


@pytest.mark.parametrize(
    "key",
    [
        "raw/group=5/day=Tuesday/batch=3.parquet",
        "reports/clean/group=5/day=Tuesday/batch=0003.json",
        "raw/group=x/day=Tuesday/batch=0003.parquet",
        "../raw/group=5/day=Tuesday/batch=0003.parquet",
    ],
)
def test_anything_but_a_batch_key_is_refused(key):
    with pytest.raises(ValueError, match="is not a batch key"):
        keys.clean_key_of(key)


def test_reports_are_read_back_to_the_batch_and_champion_they_are_about():
    clean = keys.clean_key(5, "Tuesday", 3)
    batch = keys.BatchKey("clean", 5, "Tuesday", 3)
    assert keys.batch_of_clean_report(keys.clean_report_key(clean)) == batch
    assert keys.DriftReportKey.parse(keys.drift_report_key(clean, "12")) == (
        keys.DriftReportKey(batch, "12")
    )
    assert keys.DriftReportKey.parse(keys.drift_report_key(clean, None)) == (
        keys.DriftReportKey(batch, None)
    )
    for other in (keys.drift_report_key(clean, "4"), clean, keys.run_report_key("r", "summary")):
        assert keys.batch_of_clean_report(other) is None
    for other in (keys.clean_report_key(clean), "reports/drift/group=5/day=Tuesday/batch=3.json"):
        assert keys.DriftReportKey.parse(other) is None


def test_every_stored_kind_lives_under_its_prefix():
    clean = keys.clean_key(5, "Tuesday", 3)
    assert keys.raw_key(5, "Tuesday", 3).startswith(keys.stage_prefix("raw"))
    assert clean.startswith(keys.stage_prefix("clean"))
    assert keys.clean_report_key(clean).startswith(keys.CLEAN_REPORTS_PREFIX)
    assert keys.drift_report_key(clean, "4").startswith(keys.DRIFT_REPORTS_PREFIX)
    assert keys.reference_key("f").startswith(keys.REFERENCES_PREFIX)
    assert keys.holdout_key("f").startswith(keys.HOLDOUTS_PREFIX)
    assert keys.run_report_key("r", "summary").startswith(keys.REPORTS_PREFIX)
    assert keys.run_record_key("r", "ingest").startswith(keys.RUNS_PREFIX)
