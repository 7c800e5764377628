"""Which model is served: an immutable :class:`LoadedModel` snapshot behind :class:`ModelHolder`.

A request reads ``holder.current`` once and uses that snapshot to the end, so a reload (one
attribute assignment) never mixes two versions in one answer. A background thread loads the
champion at start-up (retrying with backoff while MLflow is down), then polls the alias and
the reload marker another worker touches when it served ``POST /reload``.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlflow.tracking import MlflowClient

from house_prices import registry, run_documents
from house_prices.features import NUMERIC_FEATURES, STATUSES
from model_server.config import ServerConfig
from model_server.scoring import FastExplainer, Scorer

__all__ = ["LoadedModel", "ModelHolder", "ReloadError"]

_log = logging.getLogger(__name__)


def release_memory() -> None:
    """Hand the temporaries of a model load back to the OS (glibc keeps them otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class ReloadError(RuntimeError):
    """The champion could not be loaded; the previous model (if any) keeps serving."""


@dataclass(frozen=True)
class LoadedModel:
    """One registered version, ready to score and explain. Never mutated after creation."""

    name: str
    version: str
    run_id: str
    scorer: Scorer
    explainer: FastExplainer
    metrics: dict[str, float]
    training: dict[str, Any]
    features: dict[str, Any]
    importance: dict[str, float]
    #: Mean training price per state (empty for versions trained before it was recorded).
    state_prices: dict[str, float] = field(default_factory=dict)
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def ref(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version}

    def describe(self) -> dict[str, Any]:
        return {
            **self.ref,
            "alias": registry.CHAMPION_ALIAS,
            "run_id": self.run_id,
            "metrics": self.metrics,
            "training": self.training,
            "features": self.features,
            "importance": self.importance,
            "loaded_at": self.loaded_at,
        }


def _features(summary: dict, run_id: str) -> dict[str, Any]:
    """Accepted ranges and categories; a summary without a feature's range is refused, since
    validation would then accept any number for it."""
    missing = [
        name
        for name in NUMERIC_FEATURES
        if any(summary.get("numeric", {}).get(name, {}).get(key) is None for key in ("min", "max"))
    ]
    if missing:
        raise ValueError(
            f"{run_documents.FEATURE_SUMMARY} of run {run_id} gives no range for {missing}: "
            "train the model again with this version of the pipeline"
        )
    numeric = {
        name: {
            key: summary.get("numeric", {}).get(name, {}).get(key)
            for key in ("min", "max", "median")
        }
        for name in NUMERIC_FEATURES
    }
    categorical = summary.get("categorical", {})
    return {
        "numeric": numeric,
        "categorical": {"state": list(categorical.get("state", [])), "status": list(STATUSES)},
    }


def _probes(features: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows covering medians, bounds, missing values and every category (plus an unknown one)."""
    numeric = features["numeric"]
    states = [*features["categorical"]["state"], "Atlantis"]
    rows = []
    for index, state in enumerate(states):
        for status in STATUSES:
            row: dict[str, Any] = {"state": state, "status": status}
            for offset, name in enumerate(NUMERIC_FEATURES):
                bounds = numeric[name]
                choice = (index + offset) % 4
                row[name] = [bounds["median"], bounds["min"], bounds["max"], None][choice]
            rows.append(row)
    rows.append(dict.fromkeys((*NUMERIC_FEATURES, "state", "status")))
    return rows


#: The run documents a served version needs.
SERVED_DOCUMENTS = (
    run_documents.LINEAGE,
    run_documents.FEATURE_SUMMARY,
    run_documents.SHAP_IMPORTANCE,
)


def load_version(client: MlflowClient, name: str, version: str) -> LoadedModel:
    """Load ``models:/name/version`` with its run's metrics and documents."""
    bundle = registry.load_bundle(client, name, version, SERVED_DOCUMENTS)
    pipeline, model_version = bundle.pipeline, bundle.version
    lineage = bundle.documents[run_documents.LINEAGE]
    summary = bundle.documents[run_documents.FEATURE_SUMMARY]
    features = _features(summary, model_version.run_id)
    scorer = Scorer(pipeline)
    probes = _probes(features)
    scorer.verify(probes)
    explainer = FastExplainer(scorer, pipeline)
    explainer.verify(probes)
    return LoadedModel(
        name=name,
        version=str(version),
        run_id=model_version.run_id,
        scorer=scorer,
        explainer=explainer,
        metrics=bundle.metrics,
        training={
            "batch_keys": lineage.get("batch_keys", []),
            "rows": lineage.get("rows", summary.get("rows")),
            "train_rows": lineage.get("train_rows"),
            "holdout_rows": lineage.get("holdout_rows"),
            "holdout_fingerprint": lineage.get("holdout_fingerprint"),
            "listing_copies_removed": lineage.get("listing_copies_removed"),
            "group": lineage.get("group"),
            "day": lineage.get("day"),
        },
        features=features,
        importance={
            key: float(value)
            for key, value in bundle.documents[run_documents.SHAP_IMPORTANCE].items()
        },
        state_prices={
            str(state): float(price) for state, price in summary.get("state_prices", {}).items()
        },
    )


class ModelHolder:
    """The served model, reloads, an LRU of older versions, and the background poller."""

    def __init__(
        self,
        config: ServerConfig,
        on_reload: Callable[[str, str], None] | None = None,
    ) -> None:
        self.config = config
        self.current: LoadedModel | None = None
        self.last_error = "loading the champion from MLflow (first attempt under way)"
        self._on_reload = on_reload or (lambda result, trigger: None)
        self._reload_lock = threading.Lock()
        self._versions: OrderedDict[str, LoadedModel] = OrderedDict()
        self._versions_lock = threading.Lock()
        self._stop = threading.Event()
        self._first_attempt = threading.Event()
        self._thread: threading.Thread | None = None
        self._marker_seen = self._marker_mtime()

    def _client(self) -> MlflowClient:
        return registry.connect(self.config.settings.mlflow_tracking_uri)

    def reload(self, trigger: str = "api") -> str:
        """Load the version the champion alias points to now: 'reloaded' or 'unchanged'.

        Raises ReloadError with the reason; the model served before keeps serving.
        """
        name = self.config.settings.model_name
        with self._reload_lock:
            try:
                client = self._client()
                champion = registry.champion_version(client, name)
                if champion is None:
                    raise ReloadError(
                        f"model {name!r} has no version with alias "
                        f"'{registry.CHAMPION_ALIAS}' yet: run the pipeline once"
                    )
                current = self.current
                if current is not None and current.version == champion.version:
                    self._on_reload("unchanged", trigger)
                    return "unchanged"
                loaded = self._cached(champion.version) or load_version(
                    client, name, champion.version
                )
            except ReloadError as exc:
                self._fail(str(exc), trigger)
                raise
            except Exception as exc:
                reason = f"loading {name}@{registry.CHAMPION_ALIAS} failed: {exc}"
                self._fail(reason, trigger)
                raise ReloadError(reason) from exc
            self._remember(loaded)
            self.current = loaded
            self.last_error = ""
            release_memory()
            self._on_reload("success", trigger)
            _log.info("serving %s version %s (%s)", name, loaded.version, trigger)
            return "reloaded"

    def _fail(self, reason: str, trigger: str) -> None:
        self.last_error = reason
        self._on_reload("failure", trigger)
        _log.warning("reload (%s) failed: %s", trigger, reason)

    def _cached(self, version: str) -> LoadedModel | None:
        with self._versions_lock:
            loaded = self._versions.get(version)
            if loaded is not None:
                self._versions.move_to_end(version)
            return loaded

    def _remember(self, loaded: LoadedModel) -> None:
        with self._versions_lock:
            self._versions[loaded.version] = loaded
            self._versions.move_to_end(loaded.version)
            while len(self._versions) > self.config.cached_versions:
                self._versions.popitem(last=False)

    def version(self, version: str) -> LoadedModel:
        """A given version (the current one, a cached one, or loaded from MLflow now)."""
        current = self.current
        if current is not None and current.version == version:
            return current
        loaded = self._cached(version)
        if loaded is None:
            try:
                loaded = load_version(self._client(), self.config.settings.model_name, version)
            except Exception as exc:
                raise ReloadError(f"cannot load version {version}: {exc}") from exc
            self._remember(loaded)
        return loaded

    def request_sibling_reload(self) -> None:
        """Touch the marker so the other workers of this server reload too."""
        marker = self.config.reload_marker
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(str(time.time()))
            self._marker_seen = self._marker_mtime()
        except OSError as exc:
            _log.warning("cannot write %s (%s): other workers reload by polling", marker, exc)

    def _marker_mtime(self) -> float:
        try:
            return self.config.reload_marker.stat().st_mtime
        except OSError:
            return 0.0

    # --- background poller -------------------------------------------------------------
    def start(self, wait: float = 0.0) -> None:
        """Start the poller; wait up to ``wait`` s for its first load attempt to finish.

        Under gunicorn a worker accepts connections only once the app is built, so waiting
        here keeps requests away from a worker that is still loading the model.
        """
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="model-poller", daemon=True)
            self._thread.start()
        self._first_attempt.wait(wait)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        delay = self.config.retry_initial_seconds
        last_poll = 0.0
        while not self._stop.is_set():
            if self.current is None:
                try:
                    self.reload("startup")
                except ReloadError:
                    self._first_attempt.set()
                    _log.info("retrying in %.1f s", delay)
                    self._stop.wait(delay)
                    delay = min(delay * 2, self.config.retry_max_seconds)
                continue
            self._first_attempt.set()
            delay = self.config.retry_initial_seconds
            marker = self._marker_mtime()
            due = time.monotonic() - last_poll >= self.config.poll_seconds
            if marker != self._marker_seen or due:
                self._marker_seen = marker
                last_poll = time.monotonic()
                with contextlib.suppress(ReloadError):
                    self.reload("poll")
            self._stop.wait(min(1.0, self.config.poll_seconds))
