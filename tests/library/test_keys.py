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
