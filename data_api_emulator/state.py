"""Per group/day batch sequence: which batch a ``/data`` call gets, and when it advances.

Rules (the contract, with the original server's 300 s default interval):

* the first call for a (group, day) gets batch 1;
* a later call moves to the next batch only if at least ``min_interval_seconds`` passed
  since the last move; sooner, it gets the same batch number again;
* a call that would move past the last batch finds the sequence exhausted, and every call
  after that is exhausted too, until ``restart`` resets the (group, day).

State lives in process memory behind a lock: serve the emulator with ONE gunicorn worker
(threads are fine), or each worker would keep its own sequence.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BatchSequencer", "BatchesExhausted", "Step"]


class BatchesExhausted(Exception):
    """Every batch of this (group, day) was handed out; ``restart`` to start over."""


@dataclass(frozen=True)
class Step:
    """The outcome of one ``/data`` call."""

    batch: int
    #: True when this call moved to a new batch (or started the sequence)
    advanced: bool


@dataclass
class _Progress:
    batch: int
    advanced_at: float
    exhausted: bool = False


class BatchSequencer:
    """Thread-safe batch counters keyed by ``(group, day_index)``.

    Args:
        batches_per_day: number of batches before the sequence is exhausted.
        min_interval_seconds: minimum time between two advances.
        clock: monotonic time source in seconds; tests inject a fake one.
    """

    def __init__(
        self,
        *,
        batches_per_day: int,
        min_interval_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if batches_per_day < 1:
            raise ValueError("batches_per_day must be >= 1")
        if min_interval_seconds < 0:
            raise ValueError("min_interval_seconds must be >= 0")
        self._batches = batches_per_day
        self._interval = min_interval_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._progress: dict[tuple[int, int], _Progress] = {}

    def next_batch(self, group: int, day: int) -> Step:
        """Return the batch this call gets, advancing if the interval has passed.

        Raises:
            BatchesExhausted: the last batch was served and its interval has passed.
        """
        key = (group, day)
        with self._lock:
            now = self._clock()
            progress = self._progress.get(key)
            if progress is None:
                self._progress[key] = _Progress(batch=1, advanced_at=now)
                return Step(batch=1, advanced=True)
            if progress.exhausted:
                raise BatchesExhausted
            if now - progress.advanced_at < self._interval:
                return Step(batch=progress.batch, advanced=False)
            if progress.batch >= self._batches:
                progress.exhausted = True
                raise BatchesExhausted
            progress.batch += 1
            progress.advanced_at = now
            return Step(batch=progress.batch, advanced=True)

    def restart(self, group: int, day: int) -> None:
        """Forget the progress of ``(group, day)``: the next call gets batch 1 again."""
        with self._lock:
            self._progress.pop((group, day), None)

    def snapshot(self) -> dict[tuple[int, int], tuple[int, bool]]:
        """Current ``{(group, day): (batch, exhausted)}`` (a copy, for metrics and tests)."""
        with self._lock:
            return {k: (p.batch, p.exhausted) for k, p in self._progress.items()}
