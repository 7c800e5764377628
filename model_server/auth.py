"""API keys: who may call which route.

Keys are named and have a role: ``client`` keys may score (``/predict``, ``/explain``, the
original dialect's scoring routes, ``/model``, ``/openapi.json``); ``operator`` keys may also read
the prediction log (``/predictions``, ``/explanations/<id>``, the dialect's history and summary)
and call ``/reload``. ``/health`` and ``/ready`` stay open. ``/metrics`` is served only on the
metrics port when one is set (``MODEL_SERVER_METRICS_PORT``; the cluster lets only Prometheus
reach it) and never on the API port.

A key travels in the ``X-API-Key`` header. Comparison is constant-time and keys are never logged:
a refused request is answered with the reason, not with the key.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import g, request

from model_server.errors import ApiError

__all__ = ["HEADER", "OPEN", "OPERATOR", "ApiKey", "check_request", "parse_keys"]

HEADER = "X-API-Key"
ROLES = ("client", "operator")
#: Endpoints (Flask endpoint names) anyone may call.
OPEN = frozenset({"api.health", "api.ready"})
#: Endpoints that need an operator key; every other endpoint needs a client key at least.
OPERATOR = frozenset(
    {
        "api.recent_predictions",
        "api.explanation",
        "api.reload",
        "legacy.prediction_history",
        "legacy.metrics_summary",
    }
)
METRICS = "api.metrics"


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: str
    key: str

    def __repr__(self) -> str:  # never print the key itself
        return f"ApiKey(name={self.name!r}, role={self.role!r})"


def parse_keys(spec: str) -> tuple[ApiKey, ...]:
    """``name:role:key`` entries separated by commas (MODEL_SERVER_API_KEYS)."""
    keys: list[ApiKey] = []
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        parts = entry.split(":", 2)
        if len(parts) != 3 or not parts[0] or parts[1] not in ROLES or len(parts[2]) < 16:
            name = parts[0] if parts else "?"
            raise ValueError(
                f"API key entry {name!r} is not 'name:role:key' with role client or operator "
                "and a key of at least 16 characters"
            )
        if any(existing.name == parts[0] for existing in keys):
            raise ValueError(f"API key name {parts[0]!r} is listed twice")
        keys.append(ApiKey(*parts))
    return tuple(keys)


def _match(keys: tuple[ApiKey, ...], offered: str) -> ApiKey | None:
    """The key equal to ``offered``; every key is compared so timing reveals nothing."""
    found = None
    for candidate in keys:
        if hmac.compare_digest(candidate.key.encode(), offered.encode()):
            found = candidate
    return found


def check_request(enabled: bool, keys: tuple[ApiKey, ...], metrics_port: int) -> None:
    """Refuse the current request unless its key (or, for /metrics, its port) allows it."""
    endpoint = request.endpoint or ""
    on_metrics_port = metrics_port > 0 and str(request.environ.get("SERVER_PORT")) == str(
        metrics_port
    )
    if endpoint == METRICS and metrics_port > 0:
        if not on_metrics_port:
            raise ApiError(404, "metrics are served on the metrics port only")
        return
    if on_metrics_port:
        raise ApiError(404, "the metrics port serves /metrics only")
    if not enabled or endpoint in OPEN:
        return
    offered = request.headers.get(HEADER, "")
    key = _match(keys, offered) if offered else None
    if key is None:
        raise ApiError(
            401,
            f"send a valid API key in the {HEADER} header",
            "unauthorized",
            headers={"WWW-Authenticate": f'ApiKey header="{HEADER}"'},
        )
    g.api_key_name = key.name
    if endpoint in OPERATOR and key.role != "operator":
        raise ApiError(403, f"the key {key.name!r} is not an operator key", "forbidden")
