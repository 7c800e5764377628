"""SHAP explanations of a fitted pipeline, in dollars, one contribution per input feature.

The explainer is rebuilt from the model whenever one is loaded (about 5 ms for the default
forest): pickled TreeExplainers break across shap versions, and rebuilding costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from house_prices.features import FEATURES

__all__ = ["ADDITIVITY_TOLERANCE", "Explanation", "PipelineExplainer"]

#: Largest accepted |base value + sum of contributions - prediction|, in dollars.
ADDITIVITY_TOLERANCE = 1.0


class AdditivityError(ArithmeticError):
    """SHAP contributions do not add up to the prediction."""


@dataclass(frozen=True)
class Explanation:
    """Per-row SHAP contributions; ``base_value + values.sum(axis=1) == predictions``."""

    base_value: float
    values: np.ndarray
    predictions: np.ndarray
    feature_names: tuple[str, ...]

    def max_additivity_error(self) -> float:
        totals = self.base_value + self.values.sum(axis=1)
        return float(np.max(np.abs(totals - self.predictions))) if len(totals) else 0.0

    def checked(self) -> Explanation:
        """This explanation, once its contributions are shown to add up to the predictions."""
        error = self.max_additivity_error()
        if error > ADDITIVITY_TOLERANCE:
            raise AdditivityError(
                f"SHAP contributions miss the prediction by ${error:.2f} "
                f"(tolerance ${ADDITIVITY_TOLERANCE:.2f})"
            )
        return self


class PipelineExplainer:
    """TreeExplainer over the model step, fed by the pipeline's own preprocessing."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.preprocess = pipeline[:-1]
        self.model = pipeline[-1]
        if hasattr(self.model, "transformer") or hasattr(self.model, "func"):
            raise ValueError(
                f"the model step {type(self.model).__name__} learns a transformed price (e.g. "
                "log dollars): its SHAP values would not be dollars adding up to the price. "
                "Train every family on prices in dollars."
            )
        self.feature_names = tuple(str(name) for name in self.preprocess.get_feature_names_out())
        if set(self.feature_names) != set(FEATURES):
            raise ValueError(f"pipeline features {self.feature_names} are not {FEATURES}")
        import shap  # here, not at the top: the model server explains forests without it

        self._explainer = shap.TreeExplainer(self.model)
        expected = np.ravel(self._explainer.expected_value)
        self.base_value = float(expected[0])

    def explain(self, frame: pd.DataFrame) -> Explanation:
        """Explain rows of ``frame`` (raw feature columns); checks additivity before returning."""
        transformed = self.preprocess.transform(frame[list(FEATURES)])
        values = np.asarray(self._explainer.shap_values(transformed, check_additivity=False))
        predictions = np.asarray(self.model.predict(transformed), dtype=float)
        return Explanation(self.base_value, values, predictions, self.feature_names).checked()

    def global_importance(self, frame: pd.DataFrame, sample: int = 500, seed: int = 0) -> dict:
        """Mean |SHAP| per feature over a sample of ``frame``, largest first, in dollars."""
        rows = frame.sample(n=min(sample, len(frame)), random_state=seed)
        mean_abs = np.abs(self.explain(rows).values).mean(axis=0)
        order = np.argsort(-mean_abs)
        return {self.feature_names[i]: float(mean_abs[i]) for i in order}
