"""Typed settings of the model server, read from ``MODEL_SERVER_*`` environment variables:
:class:`ServerConfig` for the app, :class:`ProcessConfig` for gunicorn, ``wsgi`` and metrics.

The MLflow part (tracking URI, model name, reload token) comes from
:class:`house_prices.settings.Settings`, so the pipeline and the server read the same variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from house_prices import environment
from house_prices.settings import Settings, SettingsError
from model_server.auth import ApiKey, parse_keys

__all__ = ["ENVIRONMENT", "PROCESS_ENVIRONMENT", "ProcessConfig", "ServerConfig"]

_STATE_DIR = ("MODEL_SERVER_STATE_DIR", "directory for the SQLite log, reload marker, metrics")

#: Field name -> (environment variable, meaning). Documented in docs/model-server.md.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "database_url": (
        "MODEL_SERVER_DATABASE_URL",
        "SQLAlchemy URL of the prediction log (default: SQLite under MODEL_SERVER_STATE_DIR)",
    ),
    "state_dir": _STATE_DIR,
    "poll_seconds": ("MODEL_SERVER_POLL_SECONDS", "how often to check the champion alias"),
    "retry_max_seconds": (
        "MODEL_SERVER_RETRY_MAX_SECONDS",
        "longest wait between load attempts while no model is loaded",
    ),
    "startup_wait_seconds": (
        "MODEL_SERVER_STARTUP_WAIT",
        "how long a worker waits for its first model load before serving (not-ready)",
    ),
    "max_batch": ("MODEL_SERVER_MAX_BATCH", "most listings in one /predict request"),
    "cached_versions": (
        "MODEL_SERVER_CACHED_VERSIONS",
        "older model versions kept loaded to explain earlier predictions",
    ),
    "log_queue_size": ("MODEL_SERVER_LOG_QUEUE", "predictions buffered before logging"),
    "auth_enabled": ("MODEL_SERVER_AUTH", "on: API keys required (docs/model-server.md)"),
    "api_keys": ("MODEL_SERVER_API_KEYS", "name:role:key entries, comma-separated"),
    "metrics_port": ("MODEL_SERVER_METRICS_PORT", "port that alone serves /metrics (0: any)"),
}

#: The process settings of gunicorn, ``wsgi`` and ``metrics``: field -> (variable, meaning).
PROCESS_ENVIRONMENT: dict[str, tuple[str, str]] = {
    "bind": ("MODEL_SERVER_BIND", "gunicorn bind address"),
    "workers": ("MODEL_SERVER_WORKERS", "gunicorn worker processes"),
    "threads": ("MODEL_SERVER_THREADS", "request threads per worker"),
    "timeout": ("MODEL_SERVER_TIMEOUT", "seconds before gunicorn restarts a silent worker"),
    "graceful_timeout": (
        "MODEL_SERVER_GRACEFUL_TIMEOUT",
        "seconds a stopping worker gets to finish its requests",
    ),
    "log_level": ("MODEL_SERVER_LOG_LEVEL", "gunicorn and application log level"),
    "state_dir": _STATE_DIR,
    "malloc_arenas": ("MODEL_SERVER_MALLOC_ARENAS", "glibc malloc arenas per worker"),
    "allow_matplotlib": (
        "MODEL_SERVER_ALLOW_MATPLOTLIB",
        "1 lets shap import matplotlib in the workers (about 35 MB each)",
    ),
    "prometheus_multiproc_dir": (
        "PROMETHEUS_MULTIPROC_DIR",
        "shared metric files of the workers (default: <state dir>/prometheus)",
    ),
    "metrics_port": ENVIRONMENT["metrics_port"],
    "tls_cert": ("MODEL_SERVER_TLS_CERT", "server certificate (PEM): gunicorn serves TLS"),
    "tls_key": ("MODEL_SERVER_TLS_KEY", "the certificate's private key (PEM)"),
}


@dataclass(frozen=True)
class ProcessConfig:
    """How gunicorn runs the workers; read in the master before any worker forks."""

    bind: str = "127.0.0.1:8800"
    workers: int = 2
    threads: int = 4
    timeout: int = 60
    graceful_timeout: int = 30
    log_level: str = "info"
    state_dir: Path = Path(".state/model_server")
    malloc_arenas: int = 2
    allow_matplotlib: bool = False
    prometheus_multiproc_dir: str = ""
    metrics_port: int = 0
    tls_cert: str = ""
    tls_key: str = ""

    def __post_init__(self) -> None:
        if self.workers < 1 or self.threads < 1:
            raise SettingsError("MODEL_SERVER_WORKERS and MODEL_SERVER_THREADS must be >= 1")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise SettingsError("MODEL_SERVER_TLS_CERT and MODEL_SERVER_TLS_KEY go together")

    @property
    def listeners(self) -> list[str]:
        """The API's address, and a second listener that alone serves /metrics when
        ``metrics_port`` is set (model_server.auth): the cluster lets only Prometheus reach it."""
        if not self.metrics_port:
            return [self.bind]
        return [self.bind, f"{self.bind.rsplit(':', 1)[0]}:{self.metrics_port}"]

    @property
    def metrics_dir(self) -> Path:
        """Where every worker writes its metric samples."""
        if self.prometheus_multiproc_dir:
            return Path(self.prometheus_multiproc_dir)
        return self.state_dir.resolve() / "prometheus"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProcessConfig:
        environ = os.environ if environ is None else environ
        return cls(**environment.read(cls, PROCESS_ENVIRONMENT, environ))


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
        return cls(
            settings=Settings.from_env(environ),
            **environment.read(
                cls,
                ENVIRONMENT,
                environ,
                parsers={"api_keys": parse_keys},
                hidden=frozenset({"MODEL_SERVER_API_KEYS"}),
            ),
        )
