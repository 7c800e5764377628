"""MLflow tracking and registry: log a trained pipeline, register it, move the champion alias,
record promotion decisions and list them.

The client refuses to talk to a server of another major version: a 3.x client against a 1.x
server is what failed the original deployment (404 on ``/api/2.0/mlflow/logged-models``).

Every function works through the :class:`MlflowClient` it is given (its tracking URI), never
MLflow's process-wide tracking URI, so two servers can be used in one process. The one call that
has no client form, ``mlflow.sklearn.log_model``, runs inside :func:`_fluent_api_on`.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from house_prices import run_documents
from house_prices.features import FEATURES
from house_prices.mlflow_rest import MlflowRest
from house_prices.registry_types import CHAMPION_ALIAS, Bundle, RegisteredModel, RegistryError

__all__ = [
    "CHAMPION_ALIAS",
    "Bundle",
    "RegisteredModel",
    "RegistryError",
    "champion_version",
    "check_server_version",
    "connect",
    "find_version_by_fingerprint",
    "find_version_by_number",
    "list_decisions",
    "load_bundle",
    "load_model",
    "log_and_register",
    "read_document",
    "record_decision",
]

_log = logging.getLogger(__name__)


def check_server_version(tracking_uri: str, timeout: float = 10.0) -> str:
    """Return the server's MLflow version; raise if its major differs from this client's."""
    if not tracking_uri.startswith(("http://", "https://")):
        return mlflow.__version__
    return MlflowRest.from_env(tracking_uri, timeout=timeout).check_version()


def connect(tracking_uri: str) -> MlflowClient:
    """A client of the server at ``tracking_uri`` after checking its version.

    MLflow's process-wide tracking URI is left alone: pass the client on.
    """
    check_server_version(tracking_uri)
    return MlflowClient(tracking_uri)


_FLUENT_API = threading.Lock()


@contextmanager
def _fluent_api_on(client: MlflowClient) -> Iterator[None]:
    """MLflow's fluent API (``mlflow.start_run``, ``mlflow.sklearn.log_model``) pointed at
    ``client``'s server for the block, then back at what it was before (unset stays unset).

    MLflow keeps that URI process-wide (and copies it into MLFLOW_TRACKING_URI for
    subprocesses): the lock keeps two of these blocks from interleaving, but fluent MLflow
    calls made by other code in another thread meanwhile would see this URI too.
    """
    with _FLUENT_API:
        previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
        mlflow.set_tracking_uri(client.tracking_uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(previous)


def _experiment_id(client: MlflowClient, experiment: str) -> str:
    found = client.get_experiment_by_name(experiment)
    return found.experiment_id if found else client.create_experiment(experiment)


def _version(client: MlflowClient, name: str, version: str) -> RegisteredModel:
    mv = client.get_model_version(name, version)
    return RegisteredModel(name, str(mv.version), mv.run_id, dict(mv.tags))


def champion_version(client: MlflowClient, name: str) -> RegisteredModel | None:
    """The version the ``champion`` alias points to, or None when there is none yet."""
    try:
        mv = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise RegistryError(f"cannot read alias {name}@{CHAMPION_ALIAS}: {exc}") from exc
    return RegisteredModel(name, str(mv.version), mv.run_id, dict(mv.tags))


def find_version_by_fingerprint(
    client: MlflowClient, name: str, fingerprint: str
) -> RegisteredModel | None:
    """The newest version already trained on exactly this data (same fingerprint), if any.

    A model that was never registered has no such version; any other MLflow error is raised:
    taking it for "not found" would train (and register) the same data twice.
    """
    try:
        versions = client.search_model_versions(
            f"name = '{name}' and tags.data_fingerprint = '{fingerprint}'"
        )
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            return None
        raise RegistryError(
            f"cannot search versions of {name} by data fingerprint {fingerprint}: {exc}"
        ) from exc
    if not versions:
        return None
    newest = max(versions, key=lambda mv: int(mv.version))
    return _version(client, name, str(newest.version))


def _trusted_types(pipeline: Any) -> list[str]:
    """Types skops must be told to trust: exactly those in the pipeline we just fitted."""
    import skops.io

    return skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))


def _as_mlflow_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain float/object columns: MLflow's schema inference knows no pandas 'string' dtype."""
    out = frame[list(FEATURES)].copy()
    for column in out.columns:
        if out[column].dtype.kind not in "fiu":
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def log_and_register(
    client: MlflowClient,
    pipeline: Any,
    *,
    name: str,
    experiment: str,
    train: pd.DataFrame,
    params: dict[str, Any],
    metrics: dict[str, float],
    tags: dict[str, str],
    documents: dict[str, Any],
) -> RegisteredModel:
    """Log a fitted pipeline with its params, metrics and JSON documents in a new run of
    ``experiment``; register a version of ``name``. All on ``client``'s server.

    ``tags`` go on both the run and the model version (lineage, fingerprint, reference key).
    """
    import sklearn
    import skops

    example = _as_mlflow_frame(train.head(5))
    signature = infer_signature(example, pipeline.predict(train[list(FEATURES)].head(5)))
    run_id = client.create_run(_experiment_id(client, experiment), tags=tags).info.run_id
    try:
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric(key, float(value), now, 0) for key, value in metrics.items()],
            params=[Param(key, str(value)) for key, value in params.items()],
        )
        with tempfile.TemporaryDirectory() as tmp:
            for filename, document in documents.items():
                path = Path(tmp) / filename
                path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str))
                client.log_artifact(run_id, str(path))
        # Resuming the run makes it the active one: log_model links the model to it and
        # ending the block marks it finished (or failed, on an exception).
        with _fluent_api_on(client), mlflow.start_run(run_id=run_id):
            info = mlflow.sklearn.log_model(
                pipeline,
                name="model",
                serialization_format="skops",
                skops_trusted_types=_trusted_types(pipeline),
                signature=signature,
                input_example=example,
                registered_model_name=name,
                pip_requirements=[
                    f"mlflow=={mlflow.__version__}",
                    f"scikit-learn=={sklearn.__version__}",
                    f"skops=={skops.__version__}",
                ],
            )
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    version = str(info.registered_model_version)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    _log.info("registered %s version %s from run %s", name, version, run_id)
    return _version(client, name, version)


def read_document(client: MlflowClient, run_id: str, name: str) -> dict[str, Any]:
    """One JSON document of a training run (names in ``house_prices.run_documents``)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, name, tmp)
            return json.loads(Path(path).read_text())
        except (MlflowException, OSError, ValueError) as exc:
            raise RegistryError(
                f"run {run_id} has no readable {name} ({exc.__class__.__name__}: {exc}); "
                "it was logged by every training run: is MLflow's artifact store reachable?"
            ) from exc


def load_model(client: MlflowClient, model: RegisteredModel) -> Any:
    """A registered version's pipeline, downloaded from ``client``'s server."""
    try:
        location = client.get_model_version_download_uri(model.name, model.version)
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=location, dst_path=tmp, tracking_uri=client.tracking_uri
            )
            return mlflow.sklearn.load_model(local)
    except (MlflowException, OSError) as exc:
        raise RegistryError(f"cannot load {model.uri} from {client.tracking_uri}: {exc}") from exc


def load_bundle(
    client: MlflowClient,
    name: str,
    version: str,
    documents: tuple[str, ...] = run_documents.RUN_DOCUMENTS,
) -> Bundle:
    """``models:/name/version`` with its run's metrics and ``documents``, all through ``client``
    (its tracking URI, not the process-wide one); RegistryError says which part failed."""
    registered = find_version_by_number(client, name, version)
    pipeline = load_model(client, registered)
    try:
        run = client.get_run(registered.run_id)
    except MlflowException as exc:
        where = client.tracking_uri
        raise RegistryError(f"cannot read run {registered.run_id} from {where}: {exc}") from exc
    return Bundle(
        version=registered,
        pipeline=pipeline,
        metrics={key: float(value) for key, value in run.data.metrics.items()},
        documents={doc: read_document(client, registered.run_id, doc) for doc in documents},
    )


def record_decision(
    client: MlflowClient, challenger: RegisteredModel, decision: dict[str, Any]
) -> None:
    """Tag the challenger version and its run with the decision; move the alias if promoted."""
    tags = {
        "decision": "promoted" if decision["promote"] else "rejected",
        "decision_reason": decision["reason"],
        "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "compared_with": str(decision.get("champion_version") or "none"),
    }
    holdout = decision.get("holdout") or {}
    tags.update(
        {
            "holdout_rows": str(holdout.get("rows", "")),
            "holdout_fingerprint": holdout.get("fingerprint", ""),
            "holdout_overlap": "unknown"
            if holdout.get("overlap") is None
            else str(holdout["overlap"]),
        }
    )
    for key, value in tags.items():
        client.set_model_version_tag(challenger.name, challenger.version, key, value)
        client.set_tag(challenger.run_id, key, value)
    if decision["promote"]:
        client.set_registered_model_alias(challenger.name, CHAMPION_ALIAS, challenger.version)


def list_decisions(client: MlflowClient, name: str) -> list[dict[str, str]]:
    """Every decided version, newest first: version, decision, reason, time, compared with,
    and the holdout it was judged on (listings, and how many either model had trained on)."""
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException as exc:
        raise RegistryError(f"cannot list versions of {name}: {exc}") from exc
    rows = [
        {
            "version": str(mv.version),
            "run_id": mv.run_id,
            "decision": mv.tags.get("decision", "undecided"),
            "reason": mv.tags.get("decision_reason", ""),
            "decided_at": mv.tags.get("decided_at", ""),
            "compared_with": mv.tags.get("compared_with", ""),
            "holdout_rows": mv.tags.get("holdout_rows", ""),
            "holdout_overlap": mv.tags.get("holdout_overlap", ""),
        }
        for mv in versions
    ]
    return sorted(rows, key=lambda row: int(row["version"]), reverse=True)


def find_version_by_number(client: MlflowClient, name: str, version: str) -> RegisteredModel:
    """A registered version by number; raises RegistryError when it does not exist."""
    try:
        return _version(client, name, version)
    except MlflowException as exc:
        raise RegistryError(f"model {name} has no version {version}: {exc}") from exc
