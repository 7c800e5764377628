import pytest

from house_prices.pipeline import PipelineConfig
from house_prices.promotion import HoldoutCheck, decide_promotion

CLEAN = HoldoutCheck(rows=2000, fingerprint="abc", overlap=0)


def test_first_model_is_promoted():
    decision = decide_promotion({"rmse": 10.0}, None, margin=0.01, holdout=CLEAN)
    assert decision["promote"] and "first model" in decision["reason"]


@pytest.mark.parametrize(
    ("challenger", "champion", "promote"),
    [(98.0, 100.0, True), (99.0, 100.0, True), (99.5, 100.0, False), (120.0, 100.0, False)],
)
def test_margin_decides(challenger, champion, promote):
    decision = decide_promotion(
        {"rmse": challenger}, {"rmse": champion}, margin=0.01, holdout=CLEAN, champion_version="4"
    )
    assert decision["promote"] is promote
    assert "champion v4" in decision["reason"]
    assert "on 2000 listings neither was trained on" in decision["reason"]


def test_the_pipeline_wants_one_percent_by_default():
    """A challenger 0.5 % better is noise, not progress: the champion stays by default."""
    margin = PipelineConfig().promotion_margin
    assert not decide_promotion({"rmse": 99.5}, {"rmse": 100.0}, margin=margin, holdout=CLEAN)[
        "promote"
    ]
    assert decide_promotion({"rmse": 98.9}, {"rmse": 100.0}, margin=margin, holdout=CLEAN)[
        "promote"
    ]


@pytest.mark.parametrize("champion", [{"rmse": 100.0}, None])
def test_a_holdout_either_model_was_trained_on_refuses_promotion(champion):
    leaky = HoldoutCheck(rows=2000, fingerprint="abc", overlap=37)
    decision = decide_promotion(
        {"rmse": 50.0}, champion, margin=0.01, holdout=leaky, champion_version="4"
    )
    assert decision["promote"] is False
    assert decision["reason"].startswith("refused: 37 of the 2000 holdout listings")
    assert decision["holdout"] == {
        "rows": 2000,
        "fingerprint": "abc",
        "overlap": 37,
        "unknown_because": "",
    }


def test_an_unknown_overlap_is_said_in_the_reason():
    unknown = HoldoutCheck(2000, "abc", None, "v3 was trained before listings had identities")
    decision = decide_promotion(
        {"rmse": 90.0}, {"rmse": 100.0}, margin=0.01, holdout=unknown, champion_version="3"
    )
    assert decision["promote"] is True
    assert (
        "of unknown overlap (v3 was trained before listings had identities)" in (decision["reason"])
    )


def test_margin_must_be_a_fraction():
    with pytest.raises(ValueError, match="margin"):
        decide_promotion({"rmse": 1.0}, None, margin=5, holdout=CLEAN)


@pytest.mark.parametrize("margin", [-0.01, 1.0])
def test_a_margin_outside_zero_to_one_is_refused(margin):
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\)"):
        decide_promotion({"rmse": 1.0}, None, margin=margin, holdout=CLEAN)
