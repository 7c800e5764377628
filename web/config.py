"""Settings of the web UI, read once from environment variables (``house_prices.environment``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from house_prices import environment

__all__ = ["ENVIRONMENT", "WebConfig"]

#: Field name -> (environment variable, meaning).
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "model_server_url": ("MODEL_SERVER_URL", "base URL of the model server"),
    "mlflow_url": ("MLFLOW_TRACKING_URI", "MLflow tracking server URL"),
    "airflow_url": ("AIRFLOW_API_URL", "base URL of Airflow's REST API"),
    "data_api_url": ("DATA_API_URL", "base URL of the data API (real server or emulator)"),
    "model_name": ("HOUSE_PRICES_MODEL_NAME", "registered model name in MLflow"),
    "operator_token": (
        "WEB_OPERATOR_TOKEN",
        "token a person types to unlock operator actions (empty: no operator actions)",
    ),
    "reload_token": ("MODEL_SERVER_RELOAD_TOKEN", "bearer token for the model server's /reload"),
    "model_server_api_key": (
        "MODEL_SERVER_API_KEY",
        "API key the UI sends to the model server (an operator key: the UI reloads and explains)",
    ),
    "secret_key": ("WEB_SECRET_KEY", "Flask session signing key (empty: random per process)"),
    "mlflow_username": ("MLFLOW_TRACKING_USERNAME", "MLflow basic-auth user (cluster)"),
    "mlflow_password": ("MLFLOW_TRACKING_PASSWORD", "MLflow basic-auth password (cluster)"),
    "secure_cookies": (
        "WEB_SECURE_COOKIES",
        "session cookie only over HTTPS, and Strict-Transport-Security (1 behind TLS)",
    ),
    "ca_file": (
        "PLATFORM_CA_FILE",
        "CA certificate the platform's HTTPS services (model server, MLflow, Airflow) are "
        "verified against (empty: the system trust store); never used for the data API",
    ),
    "mlflow_ca_file": (
        "MLFLOW_TRACKING_SERVER_CERT_PATH",
        "CA file an https MLflow is verified with (empty: the default trust store)",
    ),
    "login_failures": (
        "WEB_LOGIN_FAILURES",
        "failed operator logins per client address and window before 429 (per worker)",
    ),
    "login_window_seconds": ("WEB_LOGIN_WINDOW_SECONDS", "the login throttle's window"),
    "max_body_bytes": ("WEB_MAX_BODY_BYTES", "largest request body; bigger gets 413"),
}


@dataclass(frozen=True)
class WebConfig:
    """Where the services are, and the secrets of the operator actions."""

    model_server_url: str = "http://127.0.0.1:8800"
    mlflow_url: str = "http://127.0.0.1:5000"
    airflow_url: str = "http://127.0.0.1:8080"
    data_api_url: str = "http://127.0.0.1:8900"
    model_name: str = "house-price"
    operator_token: str = ""
    reload_token: str = ""
    model_server_api_key: str = ""
    secret_key: str = ""
    mlflow_username: str = ""
    mlflow_password: str = ""
    mlflow_ca_file: str = ""
    #: seconds to wait for a backing service
    timeout: float = 10.0
    #: session cookie only over HTTPS, and HSTS on every answer (turn on when served over TLS)
    secure_cookies: bool = False
    #: the appliance CA file the platform's own HTTPS services are verified against
    ca_file: str = ""
    #: failed operator logins per client address and window before 429 (per worker process)
    login_failures: int = 5
    login_window_seconds: float = 300.0
    #: largest request body; a bigger one is refused with 413 before it is read
    max_body_bytes: int = 256 * 1024

    @property
    def platform_verify(self) -> str | bool:
        """``verify`` for requests to the platform's services: the CA file, else the defaults."""
        return self.ca_file or True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebConfig:
        values = environment.read(cls, ENVIRONMENT, os.environ if environ is None else environ)
        values.setdefault("secret_key", secrets.token_urlsafe(32))
        return cls(**values)
