"""Settings of the web UI, read once from environment variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["WebConfig"]


@dataclass(frozen=True)
class WebConfig:
    """Where the services are, and the secrets of the operator actions."""

    model_server_url: str = "http://127.0.0.1:8800"
    mlflow_url: str = "http://127.0.0.1:5000"
    airflow_url: str = "http://127.0.0.1:8080"
    data_api_url: str = "http://127.0.0.1:8900"
    model_name: str = "house-price"
    #: token a person types to unlock operator actions (empty: no operator actions)
    operator_token: str = ""
    #: bearer token the UI sends to the model server's POST /reload
    reload_token: str = ""
    #: API key the UI sends to the model server (an operator key: the UI reloads and explains)
    model_server_api_key: str = ""
    #: Flask session signing key (a random one per process when empty)
    secret_key: str = ""
    #: MLflow basic-auth credentials (the cluster turns MLflow's auth on)
    mlflow_username: str = ""
    mlflow_password: str = ""
    #: seconds to wait for a backing service
    timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebConfig:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            model_server_url=env.get("WEB_MODEL_SERVER_URL")
            or env.get("MODEL_SERVER_URL")
            or defaults.model_server_url,
            mlflow_url=env.get("MLFLOW_TRACKING_URI") or defaults.mlflow_url,
            airflow_url=env.get("AIRFLOW_API_URL") or defaults.airflow_url,
            data_api_url=env.get("DATA_API_URL") or defaults.data_api_url,
            model_name=env.get("HOUSE_PRICES_MODEL_NAME") or defaults.model_name,
            operator_token=env.get("WEB_OPERATOR_TOKEN", ""),
            reload_token=env.get("MODEL_SERVER_RELOAD_TOKEN", ""),
            model_server_api_key=env.get("MODEL_SERVER_API_KEY", ""),
            secret_key=env.get("WEB_SECRET_KEY") or secrets.token_urlsafe(32),
            mlflow_username=env.get("MLFLOW_TRACKING_USERNAME", ""),
            mlflow_password=env.get("MLFLOW_TRACKING_PASSWORD", ""),
        )
