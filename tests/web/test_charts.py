import xml.etree.ElementTree as ET

import pytest

from web.charts import DOWN, UP, bar_chart, dollars, waterfall

SVG = "{http://www.w3.org/2000/svg}"
CONTRIBUTIONS = [
    {"feature": "house_size", "value": 2400, "contribution": 60_000.0},
    {"feature": "state", "value": "Ohio", "contribution": -40_000.0},
    {"feature": "bath", "value": 3, "contribution": 18_000.0},
    {"feature": "bed", "value": 4, "contribution": -2_000.0},
    {"feature": "status", "value": "sold", "contribution": 500.0},
]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_waterfall_is_valid_svg_with_one_bar_per_feature_and_text_alternatives():
    root = parse(waterfall(300_000, 336_500, CONTRIBUTIONS))
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 5
    assert [bar.get("fill") for bar in bars] == [UP, DOWN, UP, DOWN, UP]
    assert "336,500" in root.find(f"{SVG}title").text
    desc = root.find(f"{SVG}desc").text
    assert "house_size = 2,400: +$60,000" in desc and "state = Ohio: \u2212$40,000" in desc
    assert root.get("role") == "img"


def test_bars_chain_from_base_to_prediction():
    root = parse(
        waterfall(
            100.0,
            160.0,
            [
                {"feature": "a", "value": 1, "contribution": 50.0},
                {"feature": "b", "value": 2, "contribution": 10.0},
            ],
        )
    )
    top, bottom = root.findall(f"{SVG}rect")
    # the bottom bar (b: +10) runs from the base 100 to 110; the top bar (a: +50) from 110 on
    assert float(top.get("x")) == pytest.approx(float(bottom.get("x")) + float(bottom.get("width")))
    assert float(top.get("width")) == pytest.approx(5 * float(bottom.get("width")))


def test_small_features_fold_into_n_other_features():
    root = parse(waterfall(300_000, 336_500, CONTRIBUTIONS, top=3))
    labels = [t.text for t in root.findall(f"{SVG}text") if t.get("class") == "label"]
    assert labels[-1] == "2 other features"
    assert len(root.findall(f"{SVG}rect")) == 4


def test_text_from_apis_is_escaped():
    evil = [{"feature": "<script>alert(1)</script>", "value": "&", "contribution": 5.0}]
    svg = waterfall(1.0, 6.0, evil)
    assert "<script>" not in svg
    assert parse(svg) is not None


def test_bar_chart_threshold_and_highlight():
    root = parse(
        bar_chart(
            [("price", 0.3), ("bed", 0.02)], "drift", fmt=str, threshold=0.1, highlight={"price"}
        )
    )
    assert [bar.get("fill") for bar in root.findall(f"{SVG}rect")] == [UP, DOWN]
    assert root.find(f"{SVG}line").get("class") == "threshold"


@pytest.mark.parametrize(
    ("value", "signed", "text"),
    [(1234.4, False, "$1,234"), (-5.0, True, "\u2212$5"), (7.0, True, "+$7")],
)
def test_dollars(value, signed, text):
    assert dollars(value, signed) == text
