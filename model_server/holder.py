"""Which model is served: :class:`ModelHolder` over a :class:`VersionCache` and a
:class:`ChampionPoller`.

A request reads ``holder.current`` once and uses that snapshot to the end, so a reload (one
attribute assignment) never mixes two versions in one answer. The poller loads the champion at
start-up (retrying with backoff while MLflow is down), then polls the alias and the reload
marker another worker touches when it served ``POST /reload``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from house_prices.mlflow_rest import MlflowRest
from house_prices.registry_types import CHAMPION_ALIAS
from model_server.config import ServerConfig
from model_server.loader import LoadedModel, ReloadError, load_version, release_memory

__all__ = ["ChampionPoller", "ModelHolder", "VersionCache"]

_log = logging.getLogger(__name__)


class VersionCache:
    """The most recently used loaded versions, at most ``size`` of them (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._versions: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: str) -> LoadedModel | None:
        with self._lock:
            loaded = self._versions.get(version)
            if loaded is not None:
                self._versions.move_to_end(version)
            return loaded

    def remember(self, loaded: LoadedModel) -> None:
        with self._lock:
            self._versions[loaded.version] = loaded
            self._versions.move_to_end(loaded.version)
            while len(self._versions) > self.size:
                self._versions.popitem(last=False)


class ChampionPoller:
    """A thread that calls ``reload`` until a model is loaded, then on the poll interval or
    when the reload marker (touched by a sibling worker) changes."""

    def __init__(
        self,
        config: ServerConfig,
        reload: Callable[[str], str],
        is_loaded: Callable[[], bool],
    ) -> None:
        self.config = config
        self._reload = reload
        self._is_loaded = is_loaded
        self._stop = threading.Event()
        self._first_attempt = threading.Event()
        self._thread: threading.Thread | None = None
        self._marker_seen = self._marker_mtime()

    def request_sibling_reload(self) -> None:
        """Touch the marker so the other workers of this server reload too."""
        marker = self.config.reload_marker
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(str(time.time()))
            self._marker_seen = self._marker_mtime()
        except OSError as exc:
            _log.warning("cannot write %s (%s): other workers reload by polling", marker, exc)

    def _marker_moved(self) -> bool:
        """Whether a sibling touched the reload marker since this worker last looked."""
        marker = self._marker_mtime()
        moved, self._marker_seen = marker != self._marker_seen, marker
        return moved

    def _marker_mtime(self) -> float:
        try:
            return self.config.reload_marker.stat().st_mtime
        except OSError:
            return 0.0

    def start(self, wait: float = 0.0) -> None:
        """Start polling; wait up to ``wait`` s for the first load attempt to finish.

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

    def _wait_for_retry(self, seconds: float) -> None:
        """Sleep until the next load attempt, or until a sibling worker served /reload: the
        first champion is announced that way, and a worker deep in its backoff would otherwise
        answer 503 for up to MODEL_SERVER_RETRY_MAX_SECONDS while its sibling serves."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if self._marker_moved() or left <= 0:
                return
            self._stop.wait(min(1.0, left))

    def _run(self) -> None:
        delay = self.config.retry_initial_seconds
        last_poll = 0.0
        while not self._stop.is_set():
            if not self._is_loaded():
                try:
                    self._reload("startup")
                except ReloadError:
                    self._first_attempt.set()
                    _log.info("retrying in %.1f s", delay)
                    self._wait_for_retry(delay)
                    delay = min(delay * 2, self.config.retry_max_seconds)
                continue
            self._first_attempt.set()
            delay = self.config.retry_initial_seconds
            due = time.monotonic() - last_poll >= self.config.poll_seconds
            if self._marker_moved() or due:
                last_poll = time.monotonic()
                with contextlib.suppress(ReloadError):
                    self._reload("poll")
            self._stop.wait(min(1.0, self.config.poll_seconds))


class ModelHolder:
    """The served model and its reloads; older versions in a cache, polling in a thread."""

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
        self.cache = VersionCache(config.cached_versions)
        self.poller = ChampionPoller(config, self.reload, lambda: self.current is not None)

    def start(self, wait: float = 0.0) -> None:
        self.poller.start(wait)

    def stop(self) -> None:
        self.poller.stop()

    def request_sibling_reload(self) -> None:
        self.poller.request_sibling_reload()

    def _client(self) -> MlflowRest:
        return MlflowRest.from_env(self.config.settings.mlflow_tracking_uri)

    def reload(self, trigger: str = "api") -> str:
        """Load the version the champion alias points to now: 'reloaded' or 'unchanged'.

        Raises ReloadError with the reason; the model served before keeps serving.
        """
        name = self.config.settings.model_name
        with self._reload_lock:
            try:
                client = self._client()
                champion = client.version_by_alias(name, CHAMPION_ALIAS)
                if champion is None:
                    raise ReloadError(
                        f"model {name!r} has no version with alias "
                        f"'{CHAMPION_ALIAS}' yet: run the pipeline once"
                    )
                current = self.current
                if current is not None and current.version == champion.version:
                    self._on_reload("unchanged", trigger)
                    return "unchanged"
                loaded = self.cache.get(champion.version)
                if loaded is None:
                    client.check_version()  # an MLflow of another major says so plainly
                    loaded = load_version(client, name, champion.version)
            except ReloadError as exc:
                self._fail(str(exc), trigger)
                raise
            except Exception as exc:
                reason = f"loading {name}@{CHAMPION_ALIAS} failed: {exc}"
                self._fail(reason, trigger)
                raise ReloadError(reason) from exc
            self.cache.remember(loaded)
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

    def version(self, version: str) -> LoadedModel:
        """A given version (the current one, a cached one, or loaded from MLflow now)."""
        current = self.current
        if current is not None and current.version == version:
            return current
        loaded = self.cache.get(version)
        if loaded is None:
            try:
                loaded = load_version(self._client(), self.config.settings.model_name, version)
            except Exception as exc:
                raise ReloadError(f"cannot load version {version}: {exc}") from exc
            self.cache.remember(loaded)
        return loaded
