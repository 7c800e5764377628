import numpy as np
import pandas as pd
import pytest

from house_prices.explain import ADDITIVITY_TOLERANCE, PipelineExplainer
from house_prices.features import FEATURES, feature_summary
from house_prices.training import (
    MODEL_FAMILIES,
    TrainingConfig,
    build_pipeline,
    score,
    split_holdout,
)


@pytest.fixture(scope="module")
def listings():
    rng = np.random.default_rng(7)
    n = 3000
    size = rng.normal(1800, 500, n).clip(400)
    state = rng.choice(["Texas", "Ohio", "New Jersey"], n)
    level = pd.Series(state).map({"Texas": 1.0, "Ohio": 0.7, "New Jersey": 1.6}).to_numpy()
    frame = pd.DataFrame(
        {
            "bed": rng.integers(1, 6, n).astype(float),
            "bath": rng.integers(1, 4, n).astype(float),
            "acre_lot": rng.exponential(0.3, n),
            "house_size": size,
            "state": state,
            "status": rng.choice(["for_sale", "sold"], n),
        }
    )
    frame["price"] = size * 180 * level * rng.lognormal(0, 0.1, n)
    frame.loc[::17, "bath"] = np.nan
    frame[["state", "status"]] = frame[["state", "status"]].astype("string")
    return frame


@pytest.mark.parametrize("family", sorted(MODEL_FAMILIES))
def test_every_family_fits_scores_and_explains_additively(listings, family):
    config = TrainingConfig(family=family, params={"max_depth": 6})
    train, holdout = split_holdout(listings, config)
    assert len(holdout) == pytest.approx(0.2 * len(listings), abs=1)
    pipeline = build_pipeline(config).fit(train[list(FEATURES)], train["price"])
    metrics = score(pipeline, holdout)
    assert metrics["r2"] > 0.7
    assert set(metrics) == {"rmse", "mae", "r2", "mape"}
    explanation = PipelineExplainer(pipeline).explain(holdout.head(50))
    assert explanation.values.shape == (50, len(FEATURES))
    assert explanation.max_additivity_error() <= ADDITIVITY_TOLERANCE
    np.testing.assert_allclose(
        explanation.predictions, pipeline.predict(holdout.head(50)[list(FEATURES)])
    )


def test_importance_ranks_the_features_that_matter(listings):
    config = TrainingConfig()
    pipeline = build_pipeline(config).fit(listings[list(FEATURES)], listings["price"])
    importance = PipelineExplainer(pipeline).global_importance(listings, sample=200)
    assert list(importance)[:2] == ["house_size", "state"] or list(importance)[:2] == [
        "state",
        "house_size",
    ]
    assert importance["status"] < importance["house_size"]


def test_unknown_category_is_explained_not_refused(listings):
    pipeline = build_pipeline(TrainingConfig()).fit(listings[list(FEATURES)], listings["price"])
    row = listings.head(1).copy()
    row["state"] = "Atlantis"
    assert PipelineExplainer(pipeline).explain(row).max_additivity_error() <= ADDITIVITY_TOLERANCE


def test_config_is_validated():
    with pytest.raises(ValueError, match="unknown"):
        TrainingConfig(family="linear")
    with pytest.raises(ValueError, match="holdout_share"):
        TrainingConfig(holdout_share=0.9)
    assert TrainingConfig().model_params()["n_estimators"] == 50
    assert TrainingConfig().model_params()["max_depth"] == 10


def test_feature_summary_has_ranges_and_categories(listings):
    summary = feature_summary(listings)
    assert summary["categorical"]["state"] == ["New Jersey", "Ohio", "Texas"]
    assert summary["numeric"]["house_size"]["max"] >= listings["house_size"].max()
    assert 0 < summary["numeric"]["bath"]["missing_share"] < 0.1
