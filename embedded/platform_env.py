"""The generated secrets and the environment every program of the embedded platform runs with."""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

from services import REPO

VENV = Path(sys.prefix)

_SECRET_MAKERS = {
    "AIRFLOW__CORE__FERNET_KEY": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "AIRFLOW__API_AUTH__JWT_SECRET": lambda: secrets.token_urlsafe(32),
    "AIRFLOW__API__SECRET_KEY": lambda: secrets.token_urlsafe(32),
    "AIRFLOW_ADMIN_PASSWORD": lambda: secrets.token_urlsafe(16),
    "MODEL_SERVER_RELOAD_TOKEN": lambda: secrets.token_urlsafe(24),
    "WEB_SECRET_KEY": lambda: secrets.token_urlsafe(32),
    "WEB_OPERATOR_TOKEN": lambda: secrets.token_urlsafe(24),
    # Secure mode's model-server API keys: the platform's own programs (web UI, the pipeline's
    # reload call) send the operator key; MODEL_SERVER_SCRIPTS_KEY is the client key for people's
    # scripts (/predict, /explain).
    "MODEL_SERVER_API_KEY": lambda: secrets.token_urlsafe(32),
    "MODEL_SERVER_SCRIPTS_KEY": lambda: secrets.token_urlsafe(32),
}


def ensure_secrets(state: Path) -> dict[str, str]:
    """Generate missing secrets once into ``secrets.env`` (mode 0600); reuse them afterwards.

    The Fernet key above all must survive restarts: losing it (as the original deployment
    did) makes every stored connection unreadable.
    """
    path = state / "secrets.env"
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                values[key] = value
    missing = {k: make() for k, make in _SECRET_MAKERS.items() if k not in values}
    if missing:
        values.update(missing)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("# Generated once by embedded/appliance.py; keep private.\n")
            handle.writelines(f"{k}={v}\n" for k, v in sorted(values.items()))
        os.replace(tmp, path)
    path.chmod(0o600)
    return values


#: The libraries' own "phone nowhere" switches, checked against the installed versions:
#: MLflow 3.x sends usage telemetry and fetches a UI telemetry config from the internet unless
#: MLFLOW_DISABLE_TELEMETRY or DO_NOT_TRACK (mlflow/telemetry/utils.py); DO_NOT_TRACK is also
#: the generic switch other tools honour. Airflow 3.3 has no usage-data collection any more
#: (the [usage_data_collection] section and Scarf were removed), gunicorn and schemathesis 4
#: send nothing. The cluster's image sets the same (containers/Containerfile).
NO_OUTBOUND_CALLS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
}


def secure_environment(secret_values: dict[str, str], tls: dict[str, Path]) -> dict[str, str]:
    """Secure mode: the model server wants keys and serves TLS; clients verify with the CA."""
    keys = {
        "platform": ("operator", secret_values["MODEL_SERVER_API_KEY"]),
        "scripts": ("client", secret_values["MODEL_SERVER_SCRIPTS_KEY"]),
    }
    return {
        "MODEL_SERVER_AUTH": "on",
        "MODEL_SERVER_API_KEYS": ",".join(f"{n}:{role}:{key}" for n, (role, key) in keys.items()),
        "MODEL_SERVER_TLS_CERT": str(tls["cert"]),
        "MODEL_SERVER_TLS_KEY": str(tls["key"]),
        "PLATFORM_CA_FILE": str(tls["ca"]),
        "WEB_SECURE_COOKIES": "true",
    }


def environment(
    state: Path,
    secret_values: dict[str, str],
    urls: dict[str, str],
    path: str,
    tls: dict[str, Path] | None = None,
) -> dict[str, str]:
    """The environment every program of the platform runs with (``path``: the caller's PATH;
    ``tls``: the local CA and certificate in secure mode)."""
    airflow_home = state / "airflow"
    passwords = airflow_home / "simple_auth_manager_passwords.json"
    env = {
        **secret_values,
        **NO_OUTBOUND_CALLS,
        # The pipeline (house_prices.settings)
        "HOUSE_PRICES_STORAGE": "local",
        "HOUSE_PRICES_STORAGE_ROOT": str(state / "objects"),
        "DATA_API_URL": urls["data_api"],
        "MLFLOW_TRACKING_URI": urls["mlflow"],
        # The maintenance DAG's `mlflow gc` (the server's own --backend-store-uri).
        "MLFLOW_BACKEND_STORE_URI": f"sqlite:///{state}/mlflow/mlflow.db",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        # MLflow's job runner starts eight ~240 MB workers for features this platform does not
        # use (GenAI evaluation): off, the server needs about 0.5 GB instead of 2.4 GB.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        # The model server (the pipeline tells it to reload after a promotion)
        "MODEL_SERVER_URL": urls["model_server"],
        "MODEL_SERVER_BIND": urls["model_server"].split("://", 1)[1],
        "MODEL_SERVER_STATE_DIR": str(state / "model_server"),
        # The web UI (WEB_OPERATOR_TOKEN and WEB_SECRET_KEY come from the secrets)
        "AIRFLOW_API_URL": urls["airflow"],
        # Airflow 3, LocalExecutor on SQLite
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{urls['airflow']}/execution/",
        "AIRFLOW__API__BASE_URL": urls["airflow"],
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(state / "logs" / "airflow"),
        "PATH": f"{VENV / 'bin'}{os.pathsep}{path}",
        "PYTHONPATH": str(REPO),
    }
    if tls:
        env.update(secure_environment(secret_values, tls))
    return env
