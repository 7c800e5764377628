"""Typed settings of the model server, read from ``MODEL_SERVER_*`` environment variables.

The MLflow part (tracking URI, model name, reload token) comes from
:class:`house_prices.settings.Settings`, so the pipeline and the server read the same variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from house_prices.settings import Settings, SettingsError
from model_server.auth import ApiKey, parse_keys

__all__ = ["ENVIRONMENT", "ServerConfig"]


def _on_off(raw: str) -> bool:
    if raw.lower() not in ("on", "off", "true", "false", "1", "0"):
        raise ValueError("use on or off")
    return raw.lower() in ("on", "true", "1")


#: Variables whose value must never appear in an error message.
_SECRET_VARIABLES = frozenset({"MODEL_SERVER_API_KEYS"})

#: Variable -> (field, type, meaning). Documented in docs/model-server.md.
ENVIRONMENT: dict[str, tuple[str, type, str]] = {
    "MODEL_SERVER_DATABASE_URL": (
        "database_url",
        str,
        "SQLAlchemy URL of the prediction log (default: SQLite under MODEL_SERVER_STATE_DIR)",
    ),
    "MODEL_SERVER_STATE_DIR": ("state_dir", Path, "directory for the SQLite log and reload marker"),
    "MODEL_SERVER_POLL_SECONDS": ("poll_seconds", float, "how often to check the champion alias"),
    "MODEL_SERVER_RETRY_MAX_SECONDS": (
        "retry_max_seconds",
        float,
        "longest wait between load attempts while no model is loaded",
    ),
    "MODEL_SERVER_STARTUP_WAIT": (
        "startup_wait_seconds",
        float,
        "how long a worker waits for its first model load before serving (not-ready)",
    ),
    "MODEL_SERVER_MAX_BATCH": ("max_batch", int, "most listings in one /predict request"),
    "MODEL_SERVER_CACHED_VERSIONS": (
        "cached_versions",
        int,
        "older model versions kept loaded to explain earlier predictions",
    ),
    "MODEL_SERVER_LOG_QUEUE": ("log_queue_size", int, "predictions buffered before logging"),
    "MODEL_SERVER_AUTH": ("auth_enabled", _on_off, "on: API keys required (docs/model-server.md)"),
    "MODEL_SERVER_API_KEYS": ("api_keys", parse_keys, "name:role:key entries, comma-separated"),
    "MODEL_SERVER_METRICS_PORT": ("metrics_port", int, "port that alone serves /metrics (0: any)"),
}


@dataclass(frozen=True)
class ServerConfig:
    """Everything the app factory needs. Build with :meth:`from_env`, or directly in tests."""

    settings: Settings = field(default_factory=Settings)
    state_dir: Path = Path(".state/model_server")
    database_url: str = ""
    poll_seconds: float = 30.0
    retry_initial_seconds: float = 1.0
    retry_max_seconds: float = 60.0
    startup_wait_seconds: float = 30.0
    max_batch: int = 1000
    cached_versions: int = 3
    log_queue_size: int = 100_000
    auth_enabled: bool = False
    api_keys: tuple[ApiKey, ...] = ()
    metrics_port: int = 0

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{self.state_dir.resolve()}/predictions.db"
            )
        if self.poll_seconds <= 0 or self.retry_max_seconds <= 0:
            raise SettingsError(
                "MODEL_SERVER_POLL_SECONDS and MODEL_SERVER_RETRY_MAX_SECONDS must be > 0"
            )
        if not 1 <= self.max_batch <= 100_000:
            raise SettingsError(f"MODEL_SERVER_MAX_BATCH={self.max_batch}: use 1..100000")
        if self.cached_versions < 1 or self.log_queue_size < 1:
            raise SettingsError(
                "MODEL_SERVER_CACHED_VERSIONS and MODEL_SERVER_LOG_QUEUE must be >= 1"
            )

        if self.auth_enabled and not self.api_keys:
            raise SettingsError(
                "MODEL_SERVER_AUTH=on needs MODEL_SERVER_API_KEYS (name:role:key, comma-separated)"
            )

    @property
    def reload_token(self) -> str:
        return self.settings.model_server_reload_token

    @property
    def reload_marker(self) -> Path:
        """Touched by the worker that served /reload, so its sibling workers reload too."""
        return self.state_dir / "reload-requested"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerConfig:
        environ = os.environ if environ is None else environ
        values: dict = {"settings": Settings.from_env(environ)}
        for variable, (name, kind, meaning) in ENVIRONMENT.items():
            raw = environ.get(variable, "")
            if raw == "":
                continue
            try:
                values[name] = kind(raw)
            except ValueError as exc:
                shown = "<hidden>" if variable in _SECRET_VARIABLES else repr(raw)
                raise SettingsError(f"{variable}={shown} is not valid ({meaning}): {exc}") from None
        return cls(**values)
