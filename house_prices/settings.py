"""Typed settings of the pipeline read from environment variables (retention keeps its own:
``house_prices.retention.RetentionSettings``).

Each setting is a field of :class:`Settings` (its default) with one environment variable
(``ENVIRONMENT``); ``Settings.from_env()`` reads them with :mod:`house_prices.environment`,
validates them all and raises ``SettingsError`` naming the variable and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from house_prices import environment
from house_prices.environment import SettingsError

__all__ = ["DAYS", "ENVIRONMENT", "Settings", "SettingsError"]

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


#: Field name -> (environment variable, meaning).
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "storage_backend": ("HOUSE_PRICES_STORAGE", "object store: `local` or `s3`"),
    "storage_root": ("HOUSE_PRICES_STORAGE_ROOT", "directory of the local object store"),
    "s3_endpoint": ("HOUSE_PRICES_S3_ENDPOINT", "S3 endpoint URL, e.g. http://seaweedfs:8333"),
    "s3_bucket": ("HOUSE_PRICES_S3_BUCKET", "bucket holding the pipeline's objects"),
    "s3_access_key": ("AWS_ACCESS_KEY_ID", "S3 access key"),
    "s3_secret_key": ("AWS_SECRET_ACCESS_KEY", "S3 secret key"),
    "data_api_url": ("DATA_API_URL", "base URL of the data API (real server or emulator)"),
    "data_api_timeout": ("DATA_API_TIMEOUT", "seconds to wait for one data API answer"),
    "data_api_retries": ("DATA_API_RETRIES", "retries on 5xx answers and connection errors"),
    "mlflow_tracking_uri": ("MLFLOW_TRACKING_URI", "MLflow tracking server URL"),
    "mlflow_experiment": ("HOUSE_PRICES_EXPERIMENT", "MLflow experiment of the training runs"),
    "model_name": ("HOUSE_PRICES_MODEL_NAME", "registered model name in MLflow"),
    "model_family": (
        "HOUSE_PRICES_MODEL_FAMILY",
        "model the pipeline trains: random_forest, extra_trees or hist_gradient_boosting",
    ),
    "model_server_url": ("MODEL_SERVER_URL", "model server told to reload (empty: none)"),
    "model_server_reload_token": ("MODEL_SERVER_RELOAD_TOKEN", "bearer token for its /reload"),
    "model_server_api_key": ("MODEL_SERVER_API_KEY", "operator API key sent to the model server"),
    "platform_ca_file": (
        "PLATFORM_CA_FILE",
        "CA certificate the model server's HTTPS is verified against (empty: the system trust "
        "store); the data API keeps the system trust store",
    ),
}


@dataclass(frozen=True)
class Settings:
    """Runtime settings of the pipeline. Build with :meth:`from_env`, or directly in tests."""

    storage_backend: str = "local"
    storage_root: Path = Path(".state/objects")
    s3_endpoint: str = ""
    s3_bucket: str = "house-prices"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    data_api_url: str = "http://127.0.0.1:8900"
    data_api_timeout: float = 60.0
    data_api_retries: int = 4
    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    mlflow_experiment: str = "house-prices"
    model_name: str = "house-price"
    model_family: str = "random_forest"
    model_server_url: str = ""
    model_server_reload_token: str = ""
    model_server_api_key: str = ""
    platform_ca_file: str = ""

    def __post_init__(self) -> None:
        if self.storage_backend not in ("local", "s3"):
            raise SettingsError(
                f"HOUSE_PRICES_STORAGE={self.storage_backend!r}: use 'local' or 's3'"
            )
        if self.storage_backend == "s3" and not self.s3_endpoint:
            raise SettingsError(
                "HOUSE_PRICES_STORAGE=s3 needs HOUSE_PRICES_S3_ENDPOINT (e.g. http://seaweedfs:8333)"
            )
        from house_prices.training import MODEL_FAMILIES

        if self.model_family not in MODEL_FAMILIES:
            raise SettingsError(
                f"HOUSE_PRICES_MODEL_FAMILY={self.model_family!r}: use one of "
                f"{', '.join(sorted(MODEL_FAMILIES))}"
            )
        if self.data_api_retries < 0 or self.data_api_timeout <= 0:
            raise SettingsError("DATA_API_RETRIES must be >= 0 and DATA_API_TIMEOUT > 0")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every declared variable; unset or empty ones keep their defaults."""
        environ = os.environ if environ is None else environ
        return cls(**environment.read(cls, ENVIRONMENT, environ))
