"""The services the UI reads: the model server's JSON API, MLflow, and health probes.

Every failure becomes :class:`ServiceUnavailable` naming the service and what to do, so a
page can say which part of the platform is down instead of showing a stack trace.
"""

from __future__ import annotations

from typing import Any

import requests

__all__ = ["ModelServer", "ServiceUnavailable", "ValidationFailed", "probe"]


class ServiceUnavailable(RuntimeError):
    """A backing service is down or answered nonsense."""

    def __init__(self, service: str, url: str, detail: str) -> None:
        super().__init__(f"{service} at {url}: {detail}")
        self.service, self.url, self.detail = service, url, detail


class ValidationFailed(ValueError):
    """The model server refused the listing; ``fields`` maps field names to problems."""

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields


class ModelServer:
    """The few calls the UI makes to the model server."""

    def __init__(
        self,
        url: str,
        timeout: float,
        reload_token: str = "",
        api_key: str = "",
        verify: str | bool = True,
    ) -> None:
        self.url, self.timeout, self.reload_token = url.rstrip("/"), timeout, reload_token
        self.api_key = api_key
        #: requests' ``verify``: the appliance CA file (PLATFORM_CA_FILE) or True
        self.verify = verify

    def _call(self, method: str, path: str, **kwargs: Any) -> dict:
        try:
            if self.api_key:
                kwargs["headers"] = {**kwargs.get("headers", {}), "X-API-Key": self.api_key}
            response = requests.request(
                method, f"{self.url}{path}", timeout=self.timeout, verify=self.verify, **kwargs
            )
        except requests.RequestException as exc:
            raise ServiceUnavailable(
                "model server", self.url, f"unreachable ({exc.__class__.__name__})"
            ) from exc
        try:
            body = response.json()
        except ValueError:
            raise ServiceUnavailable(
                "model server", self.url, f"answered {response.status_code} without JSON"
            ) from None
        if response.status_code in (400, 422):
            raise ValidationFailed(body.get("message", "invalid listing"), body.get("fields", {}))
        if response.status_code >= 400:
            raise ServiceUnavailable(
                "model server", self.url, f"{response.status_code}: {body.get('message', body)}"
            )
        return body

    def model(self) -> dict:
        return self._call("GET", "/model")

    def predict(self, listings: list[dict]) -> dict:
        return self._call("POST", "/predict", json={"listings": listings})

    def explain(self, listing: dict) -> dict:
        return self._call("POST", "/explain", json={"listing": listing})

    def reload(self) -> dict:
        return self._call(
            "POST", "/reload", headers={"Authorization": f"Bearer {self.reload_token}"}
        )


def probe(name: str, url: str, timeout: float = 3.0, verify: str | bool = True) -> dict[str, Any]:
    """GET a health URL: up when it answers 2xx (``verify``: requests' CA file or True)."""
    try:
        response = requests.get(url, timeout=timeout, verify=verify)
    except requests.RequestException as exc:
        return {"name": name, "url": url, "up": False, "detail": exc.__class__.__name__}
    return {"name": name, "url": url, "up": response.ok, "detail": f"HTTP {response.status_code}"}
