"""Durable log of every prediction, written by a background thread off the request path.

Requests put a record on a queue and return; the writer inserts them in batches through
SQLAlchemy (SQLite in the embedded default, PostgreSQL in the cluster). ``close()`` drains the
queue before returning; it runs from gunicorn's ``worker_exit`` hook and from ``atexit``, so a
graceful stop loses nothing that was buffered.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError, SQLAlchemyError

__all__ = ["PredictionLog"]

_log = logging.getLogger(__name__)

metadata = sa.MetaData()
predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(32), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("endpoint", sa.String(32), nullable=False),
    sa.Column("model_name", sa.String(200), nullable=False),
    sa.Column("model_version", sa.String(32), nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("output", sa.JSON, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
)

_STOP = object()


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _wal(connection, _record):  # several workers write the same file
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class PredictionLog:
    """Queue + writer thread + reads for ``GET /predictions``, ``/explanations/<id>`` and the
    original dialect's ``/predictions/history`` and ``/metrics/summary``."""

    def __init__(self, url: str, queue_size: int = 100_000, recent: int = 2000) -> None:
        self.url = url
        self.engine = _engine(url)
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._recent: OrderedDict[str, dict] = OrderedDict()
        self._recent_size = recent
        self._recent_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self.dropped = 0
        self.on_drop = lambda: None
        self.on_error = lambda: None
        self._ping_lock = threading.Lock()
        self._ping_thread: threading.Thread | None = None
        self._ping_at = -float("inf")
        self._ping_ok = False
        self._create_table()

    def _create_table(self) -> None:
        for attempt in range(5):
            try:
                metadata.create_all(self.engine, checkfirst=True)
                return
            except SQLAlchemyError as exc:  # two workers may race to create it
                if attempt == 4:
                    _log.error("cannot create the predictions table: %s", exc)
                    return
                time.sleep(0.2 * (attempt + 1))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
            self._thread.start()

    def record(
        self,
        request_id: str,
        endpoint: str,
        model: dict[str, str],
        inputs: list[dict[str, Any]],
        output: Any,
        latency_ms: float,
    ) -> None:
        row = {
            "request_id": request_id,
            "created_at": datetime.now(UTC),
            "endpoint": endpoint,
            "model_name": model["name"],
            "model_version": model["version"],
            "inputs": inputs,
            "output": output,
            "latency_ms": round(latency_ms, 3),
        }
        with self._recent_lock:
            self._recent[request_id] = row
            while len(self._recent) > self._recent_size:
                self._recent.popitem(last=False)
        if self._thread is None or self._closed.is_set():
            self._write([row])
            return
        try:
            self._queue.put(row, timeout=1.0)
        except queue.Full:
            self.dropped += 1
            self.on_drop()
            _log.error("prediction log queue full: dropped %s", request_id)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch, stop = [], item is _STOP
            if not stop:
                batch.append(item)
            while len(batch) < 500:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    continue
                batch.append(item)
            if batch:
                self._write(batch, retry=not stop)
            for _ in range(len(batch) + stop):
                self._queue.task_done()
            if stop:
                return

    def _write(self, rows: list[dict], retry: bool = True) -> None:
        delay = 0.2
        for attempt in range(10 if retry else 3):
            try:
                with self.engine.begin() as connection:
                    connection.execute(predictions.insert(), rows)
                return
            except OperationalError as exc:
                _log.warning("prediction log write failed (attempt %d): %s", attempt + 1, exc)
                self.on_error()
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
            except SQLAlchemyError as exc:
                _log.error("prediction log rejected %d rows: %s", len(rows), exc)
                self.on_error()
                return
        _log.error("prediction log lost %d rows after retries", len(rows))

    def flush(self) -> None:
        """Block until everything queued so far is written."""
        if self._thread is not None and not self._closed.is_set():
            self._queue.join()

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the writer. Safe to call more than once."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
        self.engine.dispose()

    # --- reads ---------------------------------------------------------------------------
    @staticmethod
    def _public(row: dict) -> dict:
        created = row["created_at"]
        if created.tzinfo is None:  # SQLite hands back naive datetimes
            created = created.replace(tzinfo=UTC)
        return {
            "request_id": row["request_id"],
            "created_at": created.isoformat(),
            "endpoint": row["endpoint"],
            "inputs": row["inputs"],
            "output": row["output"],
            "model_name": row["model_name"],
            "model_version": row["model_version"],
            "latency_ms": row["latency_ms"],
        }

    def recent(self, limit: int) -> list[dict]:
        query = sa.select(predictions).order_by(predictions.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(query)]
        return [self._public(row) for row in rows]

    def newest(
        self, max_rows: int, since: datetime | None = None, page: int = 500
    ) -> Iterator[dict]:
        """Logged requests newest first: at most ``max_rows``, only those from ``since`` on.

        Read a page at a time (keyset on id), so a long scan never holds every row at once.
        """
        before, read = None, 0
        while read < max_rows:
            size = min(page, max_rows - read)
            query = sa.select(predictions).order_by(predictions.c.id.desc()).limit(size)
            if before is not None:
                query = query.where(predictions.c.id < before)
            if since is not None:
                query = query.where(predictions.c.created_at >= since)
            with self.engine.connect() as connection:
                rows = [dict(row._mapping) for row in connection.execute(query)]
            for row in rows:
                yield self._public(row)
            if len(rows) < size:
                return
            before, read = rows[-1]["id"], read + len(rows)

    def reachable(self, max_age: float = 10.0, wait: float = 0.5) -> bool:
        """Whether the database answered ``SELECT 1`` lately.

        Checked at most every ``max_age`` s, in a thread of its own: a caller (the liveness
        probe) never waits more than ``wait`` s for a database that hangs.
        """
        with self._ping_lock:
            stale = time.monotonic() - self._ping_at >= max_age
            if stale and (self._ping_thread is None or not self._ping_thread.is_alive()):
                self._ping_thread = threading.Thread(
                    target=self._ping, name="prediction-log-ping", daemon=True
                )
                self._ping_thread.start()
            thread = self._ping_thread
        if stale and thread is not None:
            thread.join(wait)
        return self._ping_ok

    def _ping(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            answered = True
        except SQLAlchemyError as exc:
            _log.warning("prediction log database unreachable: %s", exc)
            answered = False
        self._ping_ok, self._ping_at = answered, time.monotonic()

    def find(self, request_id: str, wait: float = 0.5) -> dict | None:
        """A logged request: this worker's recent ones first, then the database.

        Another worker's record may still sit in its queue for a moment: look twice.
        """
        with self._recent_lock:
            row = self._recent.get(request_id)
        if row is not None:
            return self._public(row)
        query = sa.select(predictions).where(predictions.c.request_id == request_id)
        deadline = time.monotonic() + wait
        while True:
            with self.engine.connect() as connection:
                found = connection.execute(query).first()
            if found is not None:
                return self._public(dict(found._mapping))
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.1)
