"""Fast scoring of a loaded pipeline: the price, the trees' spread and SHAP contributions.

The pipeline's ColumnTransformer on a one-row DataFrame costs more than the forest itself.
:class:`FastEncoder` reproduces its arithmetic (median imputation, ordinal codes with -1 for
unknown or missing) on plain lists and is only used after it gave exactly the pipeline's
output on probe rows; otherwise the pipeline's own transform is used.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OrdinalEncoder

from house_prices.explain import Explanation, PipelineExplainer
from house_prices.features import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES
from model_server.tree_shap import ForestShap

__all__ = ["FastEncoder", "FastExplainer", "Scorer", "listings_frame"]

#: Quantiles of the individual trees' predictions reported as price_low / price_high.
SPREAD = (10, 90)


def listings_frame(listings: list[dict[str, Any]]) -> pd.DataFrame:
    """The raw feature columns the pipeline was trained on (numbers as float, NaN for null)."""
    frame = pd.DataFrame({name: [row.get(name) for row in listings] for name in FEATURES})
    for name in NUMERIC_FEATURES:
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    for name in CATEGORICAL_FEATURES:
        frame[name] = frame[name].astype(object)
    return frame


class FastEncoder:
    """The fitted ColumnTransformer's output computed in plain Python, or None if unsupported."""

    def __init__(self, imputed: dict[str, float], codes: dict[str, dict[str, int]], order):
        self.imputed = imputed
        self.codes = codes
        self.order = order

    @classmethod
    def from_preprocessor(cls, preprocess: Any) -> FastEncoder | None:
        if not isinstance(preprocess, ColumnTransformer):
            return None
        imputed: dict[str, float] = {}
        codes: dict[str, dict[str, int]] = {}
        order: list[str] = []
        for _, transformer, columns in preprocess.transformers_:
            if transformer == "drop":
                continue
            if isinstance(transformer, SimpleImputer) and transformer.strategy in (
                "median",
                "mean",
            ):
                if getattr(transformer, "add_indicator", False):
                    return None
                imputed.update(zip(columns, map(float, transformer.statistics_), strict=True))
            elif isinstance(transformer, OrdinalEncoder):
                if transformer.unknown_value != -1 or transformer.encoded_missing_value != -1:
                    return None
                for column, categories in zip(columns, transformer.categories_, strict=True):
                    codes[column] = {
                        str(value): index
                        for index, value in enumerate(categories)
                        if isinstance(value, str)
                    }
            else:
                return None
            order.extend(columns)
        if tuple(str(name) for name in preprocess.get_feature_names_out()) != tuple(order):
            return None
        return cls(imputed, codes, tuple(order))

    def transform(self, listings: list[dict[str, Any]]) -> np.ndarray:
        out = np.empty((len(listings), len(self.order)), dtype=np.float64)
        for row_index, row in enumerate(listings):
            for column_index, name in enumerate(self.order):
                value = row.get(name)
                if name in self.imputed:
                    out[row_index, column_index] = (
                        self.imputed[name] if value is None else float(value)
                    )
                else:
                    out[row_index, column_index] = (
                        -1 if value is None else self.codes[name].get(str(value), -1)
                    )
        return out


class Scorer:
    """Predictions (with the forest's 10th-90th percentile spread) for validated listings."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.preprocess = pipeline[:-1]
        self.model = pipeline[-1]
        if "n_jobs" in self.model.get_params():
            # A forest left at n_jobs=-1 serves a single row 3x slower (thread start-up).
            self.model.set_params(n_jobs=1)
        self.trees = [
            estimator.tree_
            for estimator in getattr(self.model, "estimators_", ()) or ()
            if hasattr(estimator, "tree_")
        ]
        encoder = (
            FastEncoder.from_preprocessor(self.preprocess[-1])
            if len(self.preprocess) == 1
            else None
        )
        self.encoder = encoder

    def verify(self, probes: list[dict[str, Any]]) -> None:
        """Use the fast paths only if they reproduce the pipeline exactly on ``probes``."""
        expected = np.asarray(self.pipeline.predict(listings_frame(probes)), dtype=float)
        if self.encoder is not None:
            reference = np.asarray(self.preprocess.transform(listings_frame(probes)), dtype=float)
            if not np.array_equal(self.encoder.transform(probes), reference):
                self.encoder = None
        prices, _, _ = self.predict(probes)
        if not np.allclose(prices, expected, rtol=1e-9, atol=1e-6):
            self.encoder, self.trees = None, []
            prices, _, _ = self.predict(probes)
        if not np.allclose(prices, expected, rtol=1e-9, atol=1e-6):
            raise ValueError("the scorer does not reproduce the pipeline's predictions")

    def transform(self, listings: list[dict[str, Any]]) -> np.ndarray:
        if self.encoder is not None:
            return self.encoder.transform(listings)
        return np.asarray(self.preprocess.transform(listings_frame(listings)), dtype=float)

    def predict(self, listings: list[dict[str, Any]]):
        """(prices, lows, highs); lows/highs are None for models without trees' spread."""
        return self.predict_features(self.transform(listings))

    def predict_features(self, features: np.ndarray):
        """:meth:`predict` for rows already encoded by :meth:`transform`."""
        if not self.trees:
            return np.asarray(self.model.predict(features), dtype=float), None, None
        rows = np.ascontiguousarray(features, dtype=np.float32)
        per_tree = np.stack(
            [tree.predict(rows).reshape(len(rows), -1)[:, 0] for tree in self.trees]
        )
        prices = per_tree.mean(axis=0)
        lows, highs = np.percentile(per_tree, SPREAD, axis=0)
        return prices, lows, highs


def dollars(value: float) -> float | None:
    """Rounded to cents; None for a non-finite value (JSON has no NaN)."""
    return round(float(value), 2) if math.isfinite(value) else None


class FastExplainer:
    """SHAP in dollars: :class:`ForestShap` tables on the fast-encoded rows when the model is a
    forest of regression trees, otherwise the library's PipelineExplainer (shap, imported only
    then: it costs a worker about 65 MB).

    Additivity is checked on every call, against the same tolerance as the library's.
    """

    def __init__(self, scorer: Scorer, pipeline: Any) -> None:
        self.scorer = scorer
        self._tables: ForestShap | None = None
        self._reference: PipelineExplainer | None = None
        order = scorer.encoder.order if scorer.encoder is not None else ()
        if set(order) == set(FEATURES) and len(order) == len(FEATURES):
            self._tables = ForestShap.from_model(scorer.model, len(order))
        if self._tables is None:
            self._use_reference(pipeline)
        else:
            self.feature_names = tuple(order)
            self.base_value = self._tables.base_value

    def _use_reference(self, pipeline: Any) -> None:
        self._tables = None
        self._reference = PipelineExplainer(pipeline)
        self.feature_names = self._reference.feature_names
        self.base_value = self._reference.base_value

    @property
    def uses_tables(self) -> bool:
        return self._tables is not None

    def verify(self, probes: list[dict[str, Any]]) -> None:
        """Keep the tables only if their contributions add up to the price on ``probes``.

        Their equality with shap's values is a test (tests/model_server/test_tree_shap.py);
        this guards a model that passed the type checks but is shaped differently.
        """
        if self._tables is None or not probes:
            return
        explanation = self.explain(probes)
        totals = self.base_value + explanation.values.sum(axis=1)
        if not np.allclose(totals, explanation.predictions, rtol=1e-9, atol=1e-6):
            self._use_reference(self.scorer.pipeline)

    def explain(self, listings: list[dict[str, Any]]) -> Explanation:
        return self.explain_priced(listings)[0]

    def explain_priced(self, listings: list[dict[str, Any]]):
        """(explanation, lows, highs): the rows encoded and scored once for both."""
        if self._tables is not None:
            features = self.scorer.transform(listings)
            values = self._tables.shap_values(features)
            if values is not None:
                predictions, lows, highs = self.scorer.predict_features(features)
                explanation = Explanation(self.base_value, values, predictions, self.feature_names)
                return explanation.checked(), lows, highs
            # a missing value the encoder did not impute: shap knows how
            self._reference = self._reference or PipelineExplainer(self.scorer.pipeline)
        _, lows, highs = self.scorer.predict(listings)
        return self._reference.explain(listings_frame(listings)), lows, highs
