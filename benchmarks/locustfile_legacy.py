"""The original hand-built system's load test, written from its description, against our server.

It speaks only the original dialect: flat listings on ``POST /predict`` and ``/explain``,
``POST /batch_predict`` with a JSON array, ``GET /health`` expecting ``healthy``/``degraded``,
``GET /model`` expecting ``model_version``. Task mix of an API user: predict 70 %, explain 15 %,
health 10 %, model info 5 %, with 0.5-2 s think time; batch users send 10-50 listings every
5-15 s. Listings are drawn around typical US homes (1-7 bedrooms, 0.5-4.5 bathrooms, 800 to
7,200 sq ft, lots of 0.05 to 7.5 acres) in 20 populous states, half of them with a field or
two left out (the original's clients often sent partial listings).

    locust -f benchmarks/locustfile_legacy.py --host http://127.0.0.1:8800 \\
        --headless -u 10 -r 10 -t 60s

``benchmarks/legacy_dialect_load.py`` starts MLflow and our gunicorn with a trained model and
runs exactly that. Point ``--host`` only at a server you run (loopback here).
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

STATES = (
    "California", "Texas", "Florida", "New York", "Pennsylvania", "Illinois", "Ohio", "Georgia",
    "North Carolina", "Michigan", "New Jersey", "Virginia", "Washington", "Arizona",
    "Massachusetts", "Tennessee", "Indiana", "Missouri", "Maryland", "Wisconsin",
)  # fmt: skip
#: (bed, bath, acre_lot, house_size, status) of typical homes, small to large.
HOMES = (
    (2, 1.0, 0.10, 1000, "for_sale"),
    (3, 2.0, 0.25, 1500, "for_sale"),
    (3, 2.0, 0.25, 1800, "sold"),
    (4, 2.5, 0.50, 2200, "for_sale"),
    (4, 3.0, 0.75, 2800, "for_sale"),
    (5, 3.0, 1.00, 3500, "sold"),
    (5, 4.0, 2.00, 4500, "for_sale"),
    (6, 4.0, 5.00, 6000, "for_sale"),
)
OPTIONAL = ("bath", "acre_lot", "status")
#: The server checks SHAP additivity itself; the client checks it again, in dollars.
ADDITIVITY_DOLLARS = 1.0


def listing(rng: random.Random, vary: bool = True) -> dict:
    """A flat listing; with ``vary``, the numbers move around the template a little."""
    bed, bath, acre_lot, house_size, status = rng.choice(HOMES)
    home = {
        "bed": bed, "bath": bath, "acre_lot": acre_lot, "house_size": house_size,
        "state": rng.choice(STATES), "status": status,
    }  # fmt: skip
    if vary:
        home["bed"] = max(1, bed + rng.randint(-1, 1))
        home["bath"] = round(max(0.5, bath + rng.uniform(-0.5, 0.5)), 1)
        home["house_size"] = int(house_size * rng.uniform(0.8, 1.2))
        home["acre_lot"] = round(acre_lot * rng.uniform(0.5, 1.5), 3)
    if rng.random() < 0.5:
        for name in rng.sample(OPTIONAL, rng.randint(1, 2)):
            del home[name]
    return home


class ApiUser(HttpUser):
    """A script or dashboard user of the original API."""

    weight = 4
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        if os.environ.get("MODEL_SERVER_API_KEY"):  # a server with API keys on
            self.client.headers["X-API-Key"] = os.environ["MODEL_SERVER_API_KEY"]
        self.rng = random.Random()

    @task(70)
    def predict(self) -> None:
        with self.client.post("/predict", json=listing(self.rng), catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                return
            body = answer.json()
            if not body.get("price", 0) > 0:
                answer.failure(f"no positive price: {body}")
            elif not body.get("model_version"):
                answer.failure("no model_version")

    @task(15)
    def explain(self) -> None:
        sent = listing(self.rng, vary=False)
        with self.client.post("/explain", json=sent, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                return
            body = answer.json()
            missing = {"price", "shap_values", "base_value", "feature_names"} - set(body)
            if missing:
                answer.failure(f"missing {sorted(missing)}")
                return
            total = body["base_value"] + sum(body["shap_values"])
            if abs(total - body["price"]) > ADDITIVITY_DOLLARS:
                answer.failure(f"SHAP values miss the price by ${abs(total - body['price']):.2f}")

    @task(10)
    def health(self) -> None:
        with self.client.get("/health", catch_response=True) as answer:
            status = answer.json().get("status") if answer.status_code == 200 else None
            if status not in ("healthy", "degraded"):
                answer.failure(f"HTTP {answer.status_code}, status {status!r}")

    @task(5)
    def model_info(self) -> None:
        with self.client.get("/model", catch_response=True) as answer:
            if answer.status_code != 200 or "model_version" not in answer.json():
                answer.failure(f"HTTP {answer.status_code}, no model_version")


class BatchUser(HttpUser):
    """A nightly script pricing a list of listings at a time."""

    weight = 1
    wait_time = between(5.0, 15.0)

    def on_start(self) -> None:
        if os.environ.get("MODEL_SERVER_API_KEY"):  # a server with API keys on
            self.client.headers["X-API-Key"] = os.environ["MODEL_SERVER_API_KEY"]
        self.rng = random.Random()

    @task
    def batch_predict(self) -> None:
        batch = [listing(self.rng) for _ in range(self.rng.randint(10, 50))]
        with self.client.post("/batch_predict", json=batch, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"HTTP {answer.status_code}: {answer.text[:200]}")
                return
            results = answer.json().get("predictions", [])
            errors = [item["error"] for item in results if "error" in item]
            if len(results) != len(batch):
                answer.failure(f"{len(results)} results for {len(batch)} listings")
            elif errors:
                answer.failure(f"{len(errors)} listings refused: {errors[0]}")
