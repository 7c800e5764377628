"""The prediction log's reads for the original dialect: newest-first pages and the DB ping."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from model_server.predictions_log import PredictionLog

MODEL = {"name": "house-price", "version": "1"}


@pytest.fixture
def log(tmp_path):
    log = PredictionLog(f"sqlite:///{tmp_path}/predictions.db")
    yield log
    log.close()


def record(log: PredictionLog, index: int) -> str:
    request_id = f"{index:032x}"
    log.record(request_id, "predict", MODEL, [{"bed": index}], [{"price": index}], 1.0)
    return request_id


def test_newest_pages_through_every_row_newest_first(log):
    ids = [record(log, index) for index in range(1, 24)]
    assert [row["request_id"] for row in log.newest(100, page=5)] == ids[::-1]
    assert [row["request_id"] for row in log.newest(7, page=5)] == ids[::-1][:7]
    assert [row["request_id"] for row in log.newest(10, page=10)] == ids[::-1][:10]


def test_newest_since_leaves_older_rows_out(log):
    old = record(log, 1)
    with log.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE predictions SET created_at = ? WHERE request_id = ?",
            ((datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S.%f"), old),
        )
    new = record(log, 2)
    since = datetime.now(UTC) - timedelta(hours=1)
    assert [row["request_id"] for row in log.newest(10, since=since)] == [new]
    assert len(list(log.newest(10))) == 2


def test_reachable_answers_and_caches(log, tmp_path):
    assert log.reachable() is True
    unreachable = PredictionLog(f"sqlite:///{tmp_path}/missing/dir/predictions.db")
    try:
        assert unreachable.reachable() is False
        # Checked again only once the answer is older than max_age.
        (tmp_path / "missing" / "dir").mkdir(parents=True)
        assert unreachable.reachable(max_age=60) is False
        assert unreachable.reachable(max_age=0) is True
    finally:
        unreachable.close()


def test_reachable_never_waits_long_for_a_hanging_database(log, monkeypatch):
    monkeypatch.setattr(log, "_ping", lambda: time.sleep(2))
    started = time.monotonic()
    assert log.reachable(wait=0.2) is False
    assert time.monotonic() - started < 1.0
