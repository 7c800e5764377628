"""The poller of a worker that has no model yet: a sibling's /reload cuts its backoff short."""

import threading
import time

from model_server.config import ServerConfig
from model_server.holder import ChampionPoller, ReloadError


def test_a_worker_waiting_to_retry_loads_when_a_sibling_was_told_to_reload(tmp_path):
    config = ServerConfig(state_dir=tmp_path, retry_initial_seconds=300, retry_max_seconds=300)
    champion_exists = threading.Event()
    loaded = threading.Event()

    def reload(trigger: str) -> str:
        if not champion_exists.is_set():
            raise ReloadError("no champion yet")
        loaded.set()
        return "1"

    waiting = ChampionPoller(config, reload, loaded.is_set)
    sibling = ChampionPoller(config, reload, loaded.is_set)
    waiting.start(wait=10)  # first attempt failed: now in a 300 s backoff
    try:
        champion_exists.set()
        started = time.monotonic()
        sibling.request_sibling_reload()  # what the worker serving /reload does
        assert loaded.wait(10), "the waiting worker slept through its sibling's reload"
        assert time.monotonic() - started < 10
    finally:
        waiting.stop()
