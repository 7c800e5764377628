import numpy as np
import pandas as pd
import pytest

from house_prices.explain import ADDITIVITY_TOLERANCE, PipelineExplainer
from house_prices.features import FEATURES, feature_summary
from house_prices.identity import LISTING_ID, in_holdout, shared_listings
from house_prices.settings import Settings, SettingsError
from house_prices.training import (
    MODEL_FAMILIES,
    TrainingConfig,
    build_pipeline,
    fit_challenger,
    score,
    split_holdout,
    training_rows,
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
    frame[LISTING_ID] = pd.Series([f"{i:016x}" for i in range(n)], dtype="string")
    return frame


@pytest.mark.parametrize("family", sorted(MODEL_FAMILIES))
def test_every_family_fits_scores_and_explains_additively(listings, family):
    config = TrainingConfig(family=family, params={"max_depth": 6})
    train, holdout = split_holdout(listings, config)
    assert len(holdout) == pytest.approx(0.2 * len(listings), rel=0.1)
    assert shared_listings(train, holdout) == 0
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
    with pytest.raises(ValueError, match="holdout_share"):
        TrainingConfig(holdout_share=0.04)
    assert TrainingConfig(holdout_share=0.05).holdout_share == 0.05
    assert TrainingConfig(holdout_share=0.5).holdout_share == 0.5
    assert TrainingConfig().model_params()["n_estimators"] == 50
    assert TrainingConfig().model_params()["max_depth"] == 10


def test_feature_summary_has_ranges_and_categories(listings):
    summary = feature_summary(listings)
    assert summary["categorical"]["state"] == ["New Jersey", "Ohio", "Texas"]
    assert summary["numeric"]["house_size"]["max"] >= listings["house_size"].max()
    assert 0 < summary["numeric"]["bath"]["missing_share"] < 0.1


def test_training_rows_keep_the_newest_row_of_each_listing(listings):
    older = listings.head(100).assign(price=1.0)
    newer = listings.head(60).assign(price=2.0)
    other = listings.iloc[100:150]
    rows, copies = training_rows([older, other, newer])
    assert copies == 60
    assert len(rows) == 150 and rows[LISTING_ID].is_unique
    by_id = rows.set_index(LISTING_ID)["price"]
    assert (by_id[newer[LISTING_ID]] == 2.0).all()
    assert (by_id[older[LISTING_ID].iloc[60:]] == 1.0).all()


def test_batches_cleaned_before_identities_are_refused(listings):
    with pytest.raises(ValueError, match="clean them again"):
        training_rows([listings.drop(columns=[LISTING_ID])])


def test_a_listing_stays_on_its_side_across_retrains(listings):
    config = TrainingConfig()
    first_train, first_holdout = split_holdout(listings.head(1000), config)
    second_train, second_holdout = split_holdout(listings.iloc[500:], config)
    assert shared_listings(first_holdout, second_train) == 0
    assert shared_listings(second_holdout, first_train) == 0
    assert shared_listings(first_holdout, second_holdout) > 0


def test_too_few_listings_for_a_holdout_is_an_error(listings):
    with pytest.raises(ValueError, match="ingest more batches"):
        split_holdout(listings.head(20), TrainingConfig())


@pytest.mark.parametrize(("held_out", "trained_on", "enough"), [(10, 10, True), (9, 30, False)])
def test_ten_listings_on_each_side_are_the_minimum(listings, held_out, trained_on, enough):
    held = in_holdout(listings[LISTING_ID], TrainingConfig().holdout_share)
    rows = pd.concat([listings[held].head(held_out), listings[~held].head(trained_on)])
    if enough:
        train, holdout = split_holdout(rows, TrainingConfig())
        assert (len(train), len(holdout)) == (trained_on, held_out)
    else:
        with pytest.raises(ValueError, match="each needs at least 10"):
            split_holdout(rows, TrainingConfig())


class OffBy:
    """A model whose every prediction misses the truth by ``offset`` dollars."""

    def __init__(self, truth, offset):
        self.truth, self.offset = truth, offset

    def predict(self, _features):
        return self.truth + self.offset


def test_score_reports_rmse_mae_r2_and_mape_of_the_errors():
    holdout = pd.DataFrame({name: [1.0, 2.0, 3.0, 4.0] for name in FEATURES})
    holdout["price"] = [100_000.0, 200_000.0, 300_000.0, 400_000.0]
    errors = np.array([10_000.0, -10_000.0, 30_000.0, -30_000.0])
    metrics = score(OffBy(holdout["price"].to_numpy(), errors), holdout)
    assert metrics["rmse"] == pytest.approx(np.sqrt(500_000_000.0))
    assert metrics["mae"] == pytest.approx(20_000.0)
    assert metrics["r2"] == pytest.approx(1 - 2_000_000_000.0 / 50_000_000_000.0)
    assert metrics["mape"] == pytest.approx((10 + 5 + 10 + 7.5) / 4)


def test_r2_of_a_holdout_with_one_price_is_zero():
    holdout = pd.DataFrame({name: [1.0, 2.0] for name in FEATURES})
    holdout["price"] = [100_000.0, 100_000.0]
    assert score(OffBy(holdout["price"].to_numpy(), 5.0), holdout)["r2"] == 0.0


def test_the_reported_score_is_on_rows_the_model_never_saw(listings):
    """Prices unrelated to the features: a model that saw its holdout would seem to predict
    them (a deep forest memorises), one that did not cannot."""
    noise = listings.assign(price=np.random.default_rng(1).lognormal(12, 0.5, len(listings)))
    config = TrainingConfig(params={"max_depth": None, "n_estimators": 30})
    challenger = fit_challenger(noise, config)
    assert challenger.metrics["r2"] < 0.05
    assert score(challenger.pipeline, challenger.train_rows)["r2"] > 0.5
    assert shared_listings(challenger.train_rows, challenger.holdout) == 0
    assert len(challenger.train_rows) + len(challenger.holdout) == len(listings)


def test_the_model_family_is_a_setting():
    assert Settings.from_env({"HOUSE_PRICES_MODEL_FAMILY": "extra_trees"}).model_family == (
        "extra_trees"
    )
    with pytest.raises(SettingsError, match="HOUSE_PRICES_MODEL_FAMILY='linear'"):
        Settings.from_env({"HOUSE_PRICES_MODEL_FAMILY": "linear"})


def test_a_model_of_log_prices_cannot_be_explained_in_dollars(listings):
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import Pipeline

    base = build_pipeline(TrainingConfig(params={"n_estimators": 5}))
    log_model = Pipeline(
        [
            ("preprocess", base[0]),
            ("model", TransformedTargetRegressor(base[-1], func=np.log, inverse_func=np.exp)),
        ]
    ).fit(listings[list(FEATURES)], listings["price"])
    with pytest.raises(ValueError, match="would not be dollars"):
        PipelineExplainer(log_model)
