"""What the registry hands out, free of heavy imports: the champion alias, its error, a
registered version and a loaded bundle.

:mod:`house_prices.registry` (through the MLflow client) and :mod:`house_prices.mlflow_rest`
(over REST, for the model server's workers) return the same types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CHAMPION_ALIAS", "Bundle", "RegisteredModel", "RegistryError"]

CHAMPION_ALIAS = "champion"


class RegistryError(RuntimeError):
    """MLflow is unreachable, of the wrong version, or refused an operation."""


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model version and the run that produced it."""

    name: str
    version: str
    run_id: str
    tags: dict[str, str]

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class Bundle:
    """A registered version's pipeline, its run's metrics and JSON documents (by file name)."""

    version: RegisteredModel
    pipeline: Any
    metrics: dict[str, float]
    documents: dict[str, dict[str, Any]]
