import pytest

from house_prices.promotion import decide


def test_first_model_is_promoted():
    decision = decide({"rmse": 10.0}, None, margin=0.01)
    assert decision["promote"] and "first model" in decision["reason"]


@pytest.mark.parametrize(
    ("challenger", "champion", "promote"),
    [(98.0, 100.0, True), (99.0, 100.0, True), (99.5, 100.0, False), (120.0, 100.0, False)],
)
def test_margin_decides(challenger, champion, promote):
    decision = decide({"rmse": challenger}, {"rmse": champion}, margin=0.01, champion_version="4")
    assert decision["promote"] is promote
    assert "champion v4" in decision["reason"]


def test_margin_must_be_a_fraction():
    with pytest.raises(ValueError, match="margin"):
        decide({"rmse": 1.0}, None, margin=5)
