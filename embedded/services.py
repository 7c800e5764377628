"""The embedded platform's services in one table, and the launcher's own settings.

Every service listens on loopback. Its port can be moved with ``APPLIANCE_<NAME>_PORT``, the
state directory with ``APPLIANCE_STATE``, and ``APPLIANCE_SECURE=on`` serves the model server
and the web UI over TLS with API keys on the model server (off by default: loopback only);
these are the only variables the launcher reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Service:
    #: key of its port: ``APPLIANCE_<NAME>_PORT``, ``$<name>_port`` in supervisord.conf.template
    name: str
    #: default loopback port
    port: int
    #: path that answers 200 once it serves ("" for a service ``up`` does not wait for)
    health_path: str
    #: supervisord program that runs it (its log: logs/<program>.log)
    program: str
    #: served over TLS in secure mode
    tls: bool = False


SERVICES = (
    Service("data_api", 8900, "/health", "data-api"),
    Service("mlflow", 5000, "/health", "mlflow"),
    Service("airflow", 8080, "/api/v2/monitor/health", "airflow-api-server"),
    Service("model_server", 8800, "/health", "model-server", tls=True),
    Service("web_ui", 8501, "/health", "web-ui", tls=True),
    Service("prometheus", 9090, "", "prometheus"),
)


def ports(environ: Mapping[str, str] = os.environ) -> dict[str, int]:
    """Each service's port: ``APPLIANCE_<NAME>_PORT`` when set, else its default."""
    chosen = {}
    for service in SERVICES:
        variable = f"APPLIANCE_{service.name.upper()}_PORT"
        raw = environ.get(variable, "")
        try:
            port = int(raw) if raw else service.port
        except ValueError:
            port = 0
        if not 1 <= port <= 65535:
            raise SystemExit(f"{variable}={raw!r}: give a TCP port (1-65535)")
        chosen[service.name] = port
    return chosen


def secure(environ: Mapping[str, str] = os.environ) -> bool:
    """``APPLIANCE_SECURE``: TLS and API keys on the model server and the web UI."""
    raw = environ.get("APPLIANCE_SECURE", "").strip().lower()
    if raw in ("", "0", "off", "false", "no"):
        return False
    if raw in ("1", "on", "true", "yes"):
        return True
    raise SystemExit(f"APPLIANCE_SECURE={raw!r}: give on or off")


def urls(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    tls = {s.name for s in SERVICES if s.tls} if secure(environ) else set()
    return {
        name: f"{'https' if name in tls else 'http'}://127.0.0.1:{port}"
        for name, port in ports(environ).items()
    }


def state_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where everything the platform keeps lives (``APPLIANCE_STATE``, default .state/)."""
    return Path(environ.get("APPLIANCE_STATE") or REPO / ".state").resolve()
