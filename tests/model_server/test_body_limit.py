"""A body over the model server's limit is refused with 413 at once, by real gunicorn."""

from __future__ import annotations

import pytest

from model_server.app import MAX_BODY_BYTES
from testsupport.body_limit import refusal_seconds

pytestmark = pytest.mark.integration


def test_an_oversized_body_gets_413_without_being_read(gunicorn_factory, mlflow_server):
    server = gunicorn_factory({"MLFLOW_TRACKING_URI": mlflow_server.url})
    server.wait_ready()
    timings = []
    for path in ("/predict", "/explain"):
        status, seconds = refusal_seconds(
            server.url, path, "application/json", announced=50 * MAX_BODY_BYTES
        )
        assert status == 413, path
        timings.append(seconds)
    # Reading the announced 200 MB would not even be possible: only 64 KiB are ever sent.
    assert max(timings) < 1.0, timings
    print(f"\nmodel server 413 after {max(timings) * 1000:.1f} ms (worst of {len(timings)})")
