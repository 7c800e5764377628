"""Prune the prediction log once: ``python -m house_prices.prediction_log_retention``.

The cluster runs it as the model server's ``prediction-log-retention`` CronJob, with only the
model server's ``MODEL_SERVER_DATABASE_URL`` (task pods hold no database password); the
embedded runtime's maintenance DAG calls ``retention.prune_predictions`` itself.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

from house_prices.retention import RetentionSettings, prune_predictions


def main(environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = environ.get("MODEL_SERVER_DATABASE_URL")
    if not url:
        print(
            "error: MODEL_SERVER_DATABASE_URL is not set: give the prediction log's database URL",
            file=sys.stderr,
        )
        return 2
    try:
        settings = RetentionSettings.from_env(environ)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    deleted = prune_predictions(url, settings, datetime.now(UTC))
    print(f"prediction log: {deleted} row(s) older than {settings.predictions_days} days deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
