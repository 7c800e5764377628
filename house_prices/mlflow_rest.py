"""A small reader of MLflow's tracking server over its REST API, without importing mlflow.

Importing mlflow costs a process about 46 MB (fastapi, starlette, opentelemetry, pydantic,
protobuf...). The model server's workers and the web UI only read: a version by number or
alias, a run's metrics, a run's JSON documents and the model's files through MLflow's artifact
proxy (``mlflow server --serve-artifacts``, which the platform runs). They use this reader;
everything that writes goes through :mod:`house_prices.registry` and the MLflow client.

Basic auth comes from ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``, the
variables the MLflow client reads; over https the server is verified against the CA file in
``MLFLOW_TRACKING_SERVER_CERT_PATH`` when it is set (the platform's CA, as the MLflow client
uses it), else against the default trust store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import requests

from house_prices import run_documents
from house_prices.registry_types import CHAMPION_ALIAS, Bundle, RegisteredModel, RegistryError

__all__ = ["MlflowRest", "MlflowUnavailable", "load_bundle"]

#: Where MLflow's artifact proxy serves ``mlflow-artifacts:/<path>``.
PROXY_ROUTE = "/api/2.0/mlflow-artifacts/artifacts/"
PROXY_SCHEME = "mlflow-artifacts:"
#: The CA bundle the MLflow client verifies an https tracking server with.
CA_VARIABLE = "MLFLOW_TRACKING_SERVER_CERT_PATH"


class MlflowUnavailable(RegistryError):
    """MLflow did not answer, or answered an error other than "does not exist"."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"MLflow at {url}: {detail}")
        self.url, self.detail = url, detail


@dataclass(frozen=True)
class MlflowRest:
    """GET requests to one MLflow server; ``None`` where MLflow says the thing does not exist."""

    url: str
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    #: requests' ``verify``: a CA bundle path, or True for the default trust store.
    verify: str | bool = True

    @classmethod
    def from_env(
        cls, url: str, env: Mapping[str, str] = os.environ, timeout: float = 30.0
    ) -> MlflowRest:
        """The server at ``url`` with the credentials the MLflow client would use."""
        return cls(
            url.rstrip("/"),
            env.get("MLFLOW_TRACKING_USERNAME", ""),
            env.get("MLFLOW_TRACKING_PASSWORD", ""),
            timeout,
            env.get(CA_VARIABLE) or True,
        )

    def _get(self, route: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        auth = (self.username, self.password) if self.username else None
        try:
            response = requests.get(
                f"{self.url}{route}",
                params=params,
                timeout=self.timeout,
                auth=auth,
                verify=self.verify,
            )
        except requests.exceptions.SSLError as exc:
            raise MlflowUnavailable(
                self.url,
                f"TLS verification failed ({exc.__class__.__name__}): check that "
                f"{CA_VARIABLE} names the CA that signed the server's certificate",
            ) from exc
        except requests.RequestException as exc:
            raise MlflowUnavailable(
                self.url,
                f"unreachable ({exc.__class__.__name__}): check MLFLOW_TRACKING_URI and that "
                "the server runs",
            ) from exc
        if response.status_code in (401, 403):
            raise MlflowUnavailable(
                self.url,
                f"refused the credentials ({response.status_code} on {route}): check "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (with basic-auth a 403 "
                "also answers an object the account may not read, or one that does not exist)",
            )
        return response

    def _missing(self, response: requests.Response) -> bool:
        """MLflow's "no such model, version, alias or artifact" (404, or 400 for an alias)."""
        if response.status_code == 404:
            return True
        if response.status_code != 400:
            return False
        try:
            code = response.json().get("error_code")
        except ValueError:
            return False
        return code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")

    def _fail(self, response: requests.Response, route: str) -> MlflowUnavailable:
        return MlflowUnavailable(
            self.url, f"answered {response.status_code} on {route}: {response.text[:300]}"
        )

    def get_json(self, route: str, **params: Any) -> Any:
        """The JSON body of ``GET route``; None when MLflow says it does not exist."""
        response = self._get(route, params)
        if self._missing(response):
            return None
        if not response.ok:
            raise self._fail(response, route)
        try:
            return response.json()
        except ValueError:
            raise MlflowUnavailable(self.url, f"answered {route} without JSON") from None

    def get_bytes(self, route: str, **params: Any) -> bytes | None:
        """The raw body of ``GET route``; None when MLflow says it does not exist."""
        response = self._get(route, params)
        if self._missing(response):
            return None
        if not response.ok:
            raise self._fail(response, route)
        return response.content

    def check_version(self) -> str:
        """The server's MLflow version; RegistryError if its major differs from the installed
        client's (the one that wrote the models; read from the package metadata, so the check
        costs no import of mlflow)."""
        response = self._get("/version")
        if not response.ok:
            raise self._fail(response, "/version")
        server = response.text.strip().strip('"')
        client = metadata.version("mlflow")
        if server.split(".")[0] != client.split(".")[0]:
            raise RegistryError(
                f"MLflow client {client} cannot work with server {server}: their major "
                "versions differ (MLflow 3 clients call /api/2.0/mlflow/logged-models, which "
                "older servers lack). Pin one version for both in versions.yml and the lock."
            )
        return server

    def model_version(self, name: str, version: str) -> RegisteredModel | None:
        body = self.get_json("/api/2.0/mlflow/model-versions/get", name=name, version=version)
        return _registered(body["model_version"]) if body else None

    def version_by_alias(self, name: str, alias: str = CHAMPION_ALIAS) -> RegisteredModel | None:
        body = self.get_json("/api/2.0/mlflow/registered-models/alias", name=name, alias=alias)
        return _registered(body["model_version"]) if body else None

    def run_metrics(self, run_id: str) -> dict[str, float]:
        body = self.get_json("/api/2.0/mlflow/runs/get", run_id=run_id)
        if body is None:
            raise RegistryError(f"MLflow at {self.url} has no run {run_id}")
        return {m["key"]: float(m["value"]) for m in body["run"]["data"].get("metrics", [])}

    def document(self, run_id: str, name: str) -> dict[str, Any]:
        """One JSON document logged with a run (names in :mod:`house_prices.run_documents`)."""
        data = self.get_bytes("/get-artifact", path=name, run_uuid=run_id)
        if data is None:
            raise RegistryError(
                f"run {run_id} has no {name} in MLflow at {self.url}; every training run logs "
                "it: was the run logged by this pipeline, is the artifact store reachable?"
            )
        try:
            return json.loads(data)
        except ValueError as exc:
            raise RegistryError(f"{name} of run {run_id} is not JSON: {exc}") from exc

    def model_files(self, name: str, version: str) -> ModelFiles:
        """The files of a version's model, read through MLflow's artifact proxy."""
        body = self.get_json(
            "/api/2.0/mlflow/model-versions/get-download-uri", name=name, version=version
        )
        if body is None:
            raise RegistryError(f"model {name} has no version {version} in MLflow at {self.url}")
        location = body["artifact_uri"]
        if not location.startswith(PROXY_SCHEME):
            raise RegistryError(
                f"models:/{name}/{version} is stored at {location}, which this reader cannot "
                "fetch: run MLflow with --serve-artifacts (artifacts at mlflow-artifacts:/...)"
            )
        return ModelFiles(self, location[len(PROXY_SCHEME) :].strip("/"))


@dataclass(frozen=True)
class ModelFiles:
    """One logged model's directory behind the artifact proxy."""

    reader: MlflowRest
    path: str

    def read(self, filename: str) -> bytes:
        data = self.reader.get_bytes(f"{PROXY_ROUTE}{self.path}/{filename}")
        if data is None:
            raise RegistryError(
                f"MLflow at {self.reader.url} has no {PROXY_SCHEME}/{self.path}/{filename}"
            )
        return data


def _registered(model_version: dict[str, Any]) -> RegisteredModel:
    return RegisteredModel(
        model_version["name"],
        str(model_version["version"]),
        model_version.get("run_id", ""),
        {tag["key"]: tag["value"] for tag in model_version.get("tags", [])},
    )


def load_bundle(
    reader: MlflowRest,
    name: str,
    version: str,
    documents: tuple[str, ...] = run_documents.RUN_DOCUMENTS,
) -> Bundle:
    """``models:/name/version`` with its run's metrics and ``documents``, as
    :func:`house_prices.registry.load_bundle` gives them; RegistryError says which part failed."""
    from house_prices.sklearn_model_file import load_sklearn_model

    registered = reader.model_version(name, version)
    if registered is None:
        raise RegistryError(f"model {name} has no version {version} in MLflow at {reader.url}")
    try:
        pipeline = load_sklearn_model(reader.model_files(name, registered.version))
    except RegistryError as exc:
        raise RegistryError(f"cannot load {registered.uri}: {exc}") from exc
    return Bundle(
        version=registered,
        pipeline=pipeline,
        metrics=reader.run_metrics(registered.run_id),
        documents={doc: reader.document(registered.run_id, doc) for doc in documents},
    )
