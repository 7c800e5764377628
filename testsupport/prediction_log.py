"""A prediction log with rows of known ages, and what is left of it after a prune."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa

from model_server import predictions_log


def write_aged_rows(url: str, ages_in_days: Iterable[int], now: datetime) -> None:
    """A log at `url` (created the way the model server creates it) with one row per age,
    its request id `age<days>`."""
    log = predictions_log.PredictionLog(url)
    with log.engine.begin() as connection:
        connection.execute(
            predictions_log.predictions.insert(),
            [
                {
                    "request_id": f"age{age}",
                    "created_at": now - timedelta(days=age),
                    "endpoint": "predict",
                    "model_name": "m",
                    "model_version": "1",
                    "inputs": {},
                    "output": {},
                    "latency_ms": 1.0,
                }
                for age in ages_in_days
            ],
        )
    log.engine.dispose()


def request_ids(url: str) -> list[str]:
    """The request ids still in the log, sorted."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            query = sa.select(predictions_log.predictions.c.request_id)
            return sorted(connection.execute(query).scalars())
    finally:
        engine.dispose()
