"""The Status page's figures: serving from the real model server's /metrics, pipeline from the
stored records (none in this fixture's store), drawn as SVG bar charts."""

from __future__ import annotations

import re

import pytest
import requests

from testsupport.model_server import LISTING as LISTING_OK
from web.figures import quantile


def test_quantile_interpolates_like_histogram_quantile():
    buckets = {0.1: 50.0, 0.5: 90.0, 1.0: 100.0, float("inf"): 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.7, buckets) == pytest.approx(0.3)
    assert quantile(0.95, buckets) == pytest.approx(0.75)
    assert quantile(0.5, {0.1: 0.0, float("inf"): 0.0}) is None
    # Beyond the last finite bucket Prometheus answers that bucket's bound.
    assert quantile(0.99, {0.1: 10.0, float("inf"): 20.0}) == pytest.approx(0.1)


@pytest.mark.integration
def test_status_page_draws_the_serving_figures(client, model_server_url):
    for _ in range(3):
        requests.post(
            f"{model_server_url}/predict", json={"listing": LISTING_OK}, timeout=30
        ).raise_for_status()
    page = client.get("/status").get_data(as_text=True)
    serving = page.split('id="serving-figures"', 1)[1].split("</div>", 1)[0]
    assert "Requests by endpoint since the server started" in serving
    assert "/predict latency since the server started" in serving
    # The bar of /predict carries the model server's own count.
    metrics = requests.get(f"{model_server_url}/metrics", timeout=30).text
    counted = sum(
        float(v)
        for v in re.findall(
            r'model_server_requests_total\{endpoint="/predict"[^}]*\} ([0-9.e+]+)', metrics
        )
    )
    assert counted >= 3
    assert f"/predict: {counted:,.0f}" in serving
    pipeline = page.split('id="pipeline-figures"', 1)[1].split("</div>", 1)[0]
    assert "No pipeline run has left records yet" in pipeline or "<svg" in pipeline
