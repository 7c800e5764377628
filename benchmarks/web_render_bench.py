"""Server-side time to render the explanation page, over 200 requests.

Starts a real MLflow server with a registered RandomForest (50 trees, depth 10), the model
server under gunicorn, and renders the Predict result page (form parsing, the model server's
/explain and /predict calls, the SVG waterfall, the template) through Flask's test client,
timing each request inside this process. Prints p50 and p95.

    .venv/bin/python benchmarks/web_render_bench.py [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from testsupport.model_server import HOUSE, TOKEN  # noqa: E402
from testsupport.served_champion import served_champion  # noqa: E402
from web import create_app  # noqa: E402
from web.config import WebConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    with (
        tempfile.TemporaryDirectory() as tmp,
        served_champion(Path(tmp), rows=20_000) as (url, server),
    ):
        app = create_app(
            WebConfig(
                model_server_url=server.url,
                mlflow_url=url,
                reload_token=TOKEN,
                secret_key="bench",
            )
        )
        client = app.test_client()
        page = client.get("/").get_data(as_text=True)
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        timings = []
        for _ in range(args.requests):
            start = time.perf_counter()
            response = client.post("/", data={**HOUSE, "csrf_token": token})
            timings.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
    timings.sort()
    p95 = timings[int(0.95 * len(timings)) - 1]
    print(
        f"explanation page, {len(timings)} requests: p50 {statistics.median(timings):.1f} ms, "
        f"p95 {p95:.1f} ms, max {timings[-1]:.1f} ms (target p50 <= 150 ms)"
    )


if __name__ == "__main__":
    main()
