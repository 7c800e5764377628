"""Load a model logged with MLflow's sklearn flavour from its files, as
``mlflow.sklearn.load_model`` does, without importing mlflow.

The ``MLmodel`` file names the serialized file, its format (skops or pickle) and the types
skops is told to trust; ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false`` refuses to deserialize,
as it does in MLflow.
"""

from __future__ import annotations

import os
import pickle
from typing import Any, Protocol

import yaml

from house_prices.registry_types import RegistryError

__all__ = ["ModelDirectory", "load_sklearn_model"]


class ModelDirectory(Protocol):
    """Where a logged model's files are read from (e.g. :class:`mlflow_rest.ModelFiles`)."""

    def read(self, filename: str) -> bytes: ...


def _flavour(directory: ModelDirectory) -> dict[str, Any]:
    try:
        mlmodel = yaml.safe_load(directory.read("MLmodel"))
    except yaml.YAMLError as exc:
        raise RegistryError(f"its MLmodel file is not YAML: {exc}") from exc
    flavour = (mlmodel or {}).get("flavors", {}).get("sklearn")
    if not flavour or "pickled_model" not in flavour:
        raise RegistryError(
            "its MLmodel file has no sklearn flavour: was it logged by the pipeline?"
        )
    return flavour


def load_sklearn_model(directory: ModelDirectory) -> Any:
    """The fitted estimator of a model directory logged with ``mlflow.sklearn.log_model``."""
    flavour = _flavour(directory)
    serialization = flavour.get("serialization_format", "cloudpickle")
    if os.environ.get("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true").lower() in ("false", "0"):
        raise RegistryError(
            "MLFLOW_ALLOW_PICKLE_DESERIALIZATION forbids deserializing models: unset it to load"
        )
    data = directory.read(flavour["pickled_model"])
    if serialization == "skops":
        import skops.io

        try:
            return skops.io.loads(data, trusted=flavour.get("skops_trusted_types") or [])
        except Exception as exc:  # skops raises many types for a bad or untrusted file
            raise RegistryError(f"skops cannot load {flavour['pickled_model']}: {exc}") from exc
    if serialization == "pickle":
        return pickle.loads(data)  # MLflow's own pickle format: the same trust as mlflow.sklearn
    raise RegistryError(
        f"its model is serialized as {serialization!r}; this loader reads 'skops' and 'pickle'"
    )
