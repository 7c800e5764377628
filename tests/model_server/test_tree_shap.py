"""The model server's table TreeSHAP gives shap's values (path-dependent TreeExplainer)."""

import numpy as np
import pandas as pd
import pytest

from house_prices.explain import PipelineExplainer
from house_prices.features import FEATURES
from house_prices.training import TrainingConfig, build_pipeline
from model_server.scoring import FastExplainer, Scorer
from model_server.tree_shap import ForestShap


def _listings(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.normal(1800, 600, rows).clip(300).round()
    frame = pd.DataFrame(
        {
            "bed": rng.integers(1, 7, rows).astype(float),
            "bath": rng.integers(1, 5, rows).astype(float),
            "acre_lot": rng.exponential(0.3, rows).round(3),
            "house_size": size,
            "state": rng.choice(["Texas", "Ohio", "New Jersey", "Maine"], rows).astype(object),
            "status": rng.choice(["for_sale", "sold", "ready_to_build"], rows).astype(object),
        }
    )
    level = frame["state"].map({"Texas": 1.0, "Ohio": 0.7, "New Jersey": 1.6, "Maine": 0.9})
    frame["price"] = size * 180 * level * (1 + 0.05 * frame["bed"]) * rng.lognormal(0, 0.1, rows)
    return frame


@pytest.fixture(scope="module")
def listings():
    return _listings(4000, seed=3)


def _fitted(listings, family: str, params: dict):
    config = TrainingConfig(family=family, params=params)
    return build_pipeline(config).fit(listings[list(FEATURES)], listings["price"])


@pytest.mark.parametrize(
    ("family", "params"),
    [
        ("random_forest", {"n_estimators": 20, "max_depth": 10}),
        ("extra_trees", {"n_estimators": 10, "max_depth": 12}),
    ],
)
def test_values_and_base_equal_shaps_within_1e_9(listings, family, params):
    pipeline = _fitted(listings, family, params)
    reference = PipelineExplainer(pipeline)
    tables = ForestShap.from_model(pipeline[-1], len(FEATURES))
    # Rows never seen in training, plus training rows (they sit exactly on the trees' boxes).
    frame = pd.concat([_listings(300, seed=11), listings.head(200)], ignore_index=True)
    rows = np.asarray(pipeline[:-1].transform(frame[list(FEATURES)]), dtype=float)

    ours = tables.shap_values(rows)
    theirs = np.asarray(reference._explainer.shap_values(rows, check_additivity=False))

    scale = np.abs(theirs).max()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9 * scale)
    assert tables.base_value == pytest.approx(reference.base_value, rel=1e-12)


def test_served_explanations_equal_the_librarys(listings):
    pipeline = _fitted(listings, "random_forest", {"n_estimators": 15, "max_depth": 9})
    scorer = Scorer(pipeline)
    explainer = FastExplainer(scorer, pipeline)
    assert explainer.uses_tables
    probes = _listings(50, seed=5).drop(columns="price").to_dict("records")
    probes[0]["bath"] = None  # imputed by the encoder, as the server does
    probes[1]["state"] = "Atlantis"  # unknown category

    served = explainer.explain(probes)
    library = PipelineExplainer(pipeline).explain(pd.DataFrame(probes).astype({"bath": float}))

    assert served.feature_names == library.feature_names
    np.testing.assert_allclose(served.values, library.values, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(served.predictions, library.predictions, rtol=1e-12)
    assert served.base_value == pytest.approx(library.base_value, rel=1e-12)


def test_boosting_and_missing_values_are_left_to_shap(listings):
    boosted = _fitted(listings, "hist_gradient_boosting", {"max_depth": 4, "max_iter": 20})
    assert ForestShap.from_model(boosted[-1], len(FEATURES)) is None
    explainer = FastExplainer(Scorer(boosted), boosted)
    assert not explainer.uses_tables

    forest = _fitted(listings, "random_forest", {"n_estimators": 5, "max_depth": 6})
    tables = ForestShap.from_model(forest[-1], len(FEATURES))
    assert tables.shap_values(np.full((1, len(FEATURES)), np.nan)) is None
