"""The original hand-built system's clients, unchanged: every request here speaks ITS dialect
only (flat listings, /batch_predict, /states, /predictions/history, /metrics/summary, ...).

Against the versions registered in a real MLflow server, through Flask's test client; the last
test runs the same calls against real gunicorn (two workers, one prediction log).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from house_prices import registry
from house_prices.explain import ADDITIVITY_TOLERANCE, PipelineExplainer
from house_prices.features import FEATURES, NUMERIC_FEATURES
from house_prices.storage import open_store, read_parquet
from model_server.scoring import listings_frame
from testsupport.model_server import LISTING
from testsupport.servers import wait_for

pytestmark = pytest.mark.integration

#: A flat listing as the original's scripts send it (every field of its API definition).
FLAT = {**LISTING, "city": "Austin", "zip_code": "78701"}
PARTIAL = {"bed": 4, "house_size": 2100, "state": "Ohio"}


def served(app):
    return app.extensions["model_server"].holder.current


def pipeline_price(app, listing: dict) -> float:
    """What the registered pipeline itself predicts (None where a field is missing)."""
    row = {name: listing.get(name) for name in FEATURES}
    return float(served(app).scorer.pipeline.predict(listings_frame([row]))[0])


def imputer_statistics(app) -> dict[str, float]:
    """The medians the fitted pipeline's SimpleImputer puts in place of missing numbers."""
    transformer = served(app).scorer.pipeline[:-1][-1].named_transformers_["numeric"]
    return dict(zip(NUMERIC_FEATURES, map(float, transformer.statistics_), strict=True))


# --- POST /predict --------------------------------------------------------------------------
def test_predict_flat_listing_answers_in_the_original_shape(client, app):
    response = client.post("/predict", json=FLAT)
    assert response.status_code == 200, response.json
    body = response.json
    model = served(app)
    assert body["price"] == pytest.approx(pipeline_price(app, FLAT), abs=0.01)
    assert body["price_low"] <= body["price"] <= body["price_high"]
    assert body["model_name"] == "house-price"
    assert body["model_version"] == "1"
    assert body["model_stage"] == "champion"
    assert body["model_run_id"] == model.run_id and len(body["model_run_id"]) == 32
    assert body["features_used"] == list(model.explainer.feature_names)
    assert sorted(body["features_used"]) == sorted(FEATURES)
    assert body["input_summary"] == FLAT
    assert body["imputed_fields"] == []
    assert len(body["request_id"]) == 32


def test_predict_partial_listing_is_filled_the_way_the_model_imputes(client, app):
    body = client.post("/predict", json=PARTIAL).json
    assert body["imputed_fields"] == ["bath", "acre_lot", "status"]
    assert body["price"] == pytest.approx(pipeline_price(app, PARTIAL), abs=0.01)
    medians = imputer_statistics(app)
    assert body["input_summary"] == {
        "bed": 4,
        "bath": medians["bath"],
        "acre_lot": medians["acre_lot"],
        "house_size": 2100,
        "state": "Ohio",
        "status": None,
    }
    # The same numbers sent explicitly give the same price: the fill is the model's own.
    filled = client.post("/predict", json={**PARTIAL, "bath": medians["bath"],
                                           "acre_lot": medians["acre_lot"]}).json  # fmt: skip
    assert filled["price"] == body["price"]
    assert filled["imputed_fields"] == ["status"]

    nulls = client.post("/predict", json={**PARTIAL, "bath": None, "status": None}).json
    assert nulls["imputed_fields"] == ["bath", "acre_lot", "status"]
    assert nulls["price"] == body["price"]

    empty = client.post("/predict", json={})
    assert empty.status_code == 200, empty.json
    assert empty.json["imputed_fields"] == list(FEATURES)
    assert empty.json["price"] == pytest.approx(pipeline_price(app, {}), abs=0.01)


def test_unknown_state_is_a_400_naming_the_field_and_the_known_states(client):
    for path in ("/predict", "/explain"):
        response = client.post(path, json={**FLAT, "state": "Atlantis"})
        assert response.status_code == 400, response.json
        assert list(response.json["fields"]) == ["state"]
        assert "unknown state" in response.json["fields"]["state"]
        assert "Ohio, Puerto Rico, Texas" in response.json["fields"]["state"]


BAD_FLAT = [
    ("not a number", {**FLAT, "bed": "three"}, "bed", "must be a number"),
    ("negative", {**FLAT, "acre_lot": -1}, "acre_lot", "at least 0"),
    ("zero size", {**FLAT, "house_size": 0}, "house_size", "greater than 0"),
    ("out of range", {**FLAT, "bath": 10_000}, "bath", "at most"),
    ("unknown status", {**FLAT, "status": "rented"}, "status", "must be one of"),
    ("state not a string", {**FLAT, "state": 7}, "state", "must be a string"),
    ("bad zip", {**FLAT, "zip_code": "7870"}, "zip_code", "5 digits"),
    ("unknown field", {**FLAT, "pool": True}, "pool", "unknown field"),
]


@pytest.mark.parametrize(("body", "field", "words"), [case[1:] for case in BAD_FLAT],
                         ids=[case[0] for case in BAD_FLAT])  # fmt: skip
@pytest.mark.parametrize("path", ["/predict", "/explain"])
def test_bad_flat_listing_is_a_400_naming_the_field(client, path, body, field, words):
    response = client.post(path, json=body)
    assert response.status_code == 400, response.json
    assert list(response.json["fields"]) == [field]
    assert words in response.json["fields"][field]
    assert "original dialect" in response.json["message"]


def test_flat_listing_without_json_content_type_is_415(client):
    response = client.post("/predict", data=json.dumps(FLAT), content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in response.json["message"]


# --- POST /explain --------------------------------------------------------------------------
@pytest.mark.parametrize("listing", [FLAT, PARTIAL], ids=["full", "partial"])
def test_explain_shap_values_in_dollars_add_up_to_the_price(client, app, listing):
    response = client.post("/explain", json=listing)
    assert response.status_code == 200, response.json
    body = response.json
    names = body["feature_names"]
    assert names == list(served(app).explainer.feature_names)
    assert len(body["shap_values"]) == len(names) == len(body["feature_values"])
    total = body["base_value"] + sum(body["shap_values"])
    assert abs(total - body["price"]) <= ADDITIVITY_TOLERANCE
    assert body["price"] == pytest.approx(pipeline_price(app, listing), abs=0.01)
    # Dollars: the base value is a price of this market, not a log or a share.
    assert 50_000 < body["base_value"] < 2_000_000
    values = dict(zip(names, body["feature_values"], strict=True))
    medians = imputer_statistics(app)
    for name in FEATURES:
        expected = listing.get(name, medians.get(name))
        assert values[name] == expected, name
    assert body["model_version"] == "1"
    assert body["imputed_fields"] == [name for name in FEATURES if name not in listing]
    # Same order as feature_names: the library's own explainer of the registered pipeline.
    row = {name: listing.get(name) for name in FEATURES}
    reference = PipelineExplainer(served(app).scorer.pipeline).explain(listings_frame([row]))
    by_name = dict(zip(reference.feature_names, reference.values[0], strict=True))
    assert body["shap_values"] == pytest.approx([by_name[name] for name in names], abs=0.01)


# --- POST /batch_predict --------------------------------------------------------------------
def test_batch_with_bad_items_prices_the_others(client, app):
    batch = [FLAT, {**FLAT, "bed": "x"}, PARTIAL, 5, {**FLAT, "state": "Atlantis"}]
    response = client.post("/batch_predict", json=batch)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["model_version"] == "1"
    assert len(body["request_id"]) == 32
    results = body["predictions"]
    assert [item["input"] for item in results] == batch
    assert results[0]["price"] == client.post("/predict", json=FLAT).json["price"]
    assert results[2]["price"] == pytest.approx(pipeline_price(app, PARTIAL), abs=0.01)
    assert "error" not in results[0] and "error" not in results[2]
    assert "price" not in results[1] and results[1]["error"].startswith("bed: must be a number")
    assert "must be an object" in results[3]["error"]
    assert results[4]["error"].startswith("state: unknown state")


def test_batch_over_the_limit_is_413_and_not_a_list_is_400(client, app):
    limit = app.config["MAX_BATCH"]
    over = client.post("/batch_predict", json=[PARTIAL] * (limit + 1))
    assert over.status_code == 413
    assert str(limit) in over.json["message"]
    full = client.post("/batch_predict", json=[PARTIAL] * limit)
    assert full.status_code == 200
    assert len(full.json["predictions"]) == limit
    assert client.post("/batch_predict", json=[]).json["predictions"] == []
    wrong = client.post("/batch_predict", json={"listings": [FLAT]})
    assert wrong.status_code == 400
    assert "body" in wrong.json["fields"]


# --- GET /health, /model, / -----------------------------------------------------------------
def test_health_is_healthy_with_a_model_and_degraded_without(client, app, monkeypatch):
    assert client.get("/health").json == {
        "status": "healthy",
        "model_loaded": True,
        "explainer_loaded": True,
        "database_connected": True,
    }
    monkeypatch.setattr(app.extensions["model_server"].log, "reachable", lambda: False)
    unreachable = client.get("/health")
    assert unreachable.status_code == 200
    assert unreachable.json["database_connected"] is False
    assert unreachable.json["status"] == "healthy"  # the model still serves
    holder = app.extensions["model_server"].holder
    model, holder.current = holder.current, None
    try:
        response = client.get("/health")
    finally:
        holder.current = model
    assert response.status_code == 200
    assert response.json["status"] == "degraded"
    assert response.json["model_loaded"] is False
    assert response.json["explainer_loaded"] is False


def test_model_info_has_the_original_fields(client, app):
    body = client.get("/model").json
    model = served(app)
    assert body["model_name"] == "house-price"
    assert body["model_version"] == "1"
    assert body["model_stage"] == "champion"
    assert body["model_run_id"] == model.run_id
    assert body["model_loaded"] is True and body["explainer_loaded"] is True
    assert body["available_states"] == ["Ohio", "Puerto Rico", "Texas"]
    assert body["feature_names"] == list(model.explainer.feature_names)


def test_root_names_the_service_and_its_model(client, app):
    body = client.get("/").json
    assert body["service"] and body["version"]
    assert body["model_name"] == "house-price"
    assert body["model_version"] == "1"
    assert body["model_stage"] == "champion"
    assert body["model_run_id"] == served(app).run_id
    assert body["model_loaded"] is True and body["explainer_loaded"] is True
    assert sorted(body["features"]) == sorted(FEATURES)


# --- GET /states ----------------------------------------------------------------------------
def test_states_are_the_mean_training_price_per_state(client, app, mlflow_server):
    body = client.get("/states").json
    settings = mlflow_server.settings
    client_ = registry.connect(settings.mlflow_tracking_uri)
    version = registry.find_version_by_number(client_, settings.model_name, "1")
    training = read_parquet(open_store(settings), version.tags["reference_key"])
    expected = training.groupby("state")["price"].mean()
    assert [item["state"] for item in body["states"]] == list(
        expected.sort_values(ascending=False).index
    )
    for item in body["states"]:
        assert item["avg_price"] == pytest.approx(expected[item["state"]], abs=0.01)


def test_states_of_a_model_trained_before_state_prices_is_empty_with_a_note(client, app):
    holder = app.extensions["model_server"].holder
    model = holder.current
    holder.current = dataclasses.replace(model, state_prices={})
    try:
        response = client.get("/states")
    finally:
        holder.current = model
    assert response.status_code == 200
    assert response.json["states"] == []
    assert "trained before per-state prices" in response.json["note"]


# --- GET /predictions/history ---------------------------------------------------------------
def test_history_filters_by_state_and_caps_the_limit(client, app):
    made = [client.post("/predict", json={**FLAT, "state": state}).json
            for state in ("Ohio", "Texas", "Ohio")]  # fmt: skip
    app.extensions["model_server"].log.flush()

    ohio = client.get("/predictions/history?limit=2&state=Ohio").json
    assert ohio["count"] == 2 == len(ohio["predictions"])
    newest = ohio["predictions"][0]
    assert newest["request_id"] == made[2]["request_id"]
    assert ohio["predictions"][1]["request_id"] == made[0]["request_id"]
    assert newest["state"] == "Ohio"
    assert newest["bed"] == FLAT["bed"] and newest["zip_code"] == FLAT["zip_code"]
    assert newest["predicted_price"] == made[2]["price"]
    assert newest["model_version"] == "1"
    assert newest["response_time_ms"] > 0
    assert newest["timestamp"].startswith("20")

    newest_any = client.get("/predictions/history?limit=1").json["predictions"]
    assert [entry["request_id"] for entry in newest_any] == [made[2]["request_id"]]
    assert client.get("/predictions/history?limit=5000").json["limit"] == 1000
    assert client.get("/predictions/history?limit=" + "9" * 5000).json["limit"] == 1000
    for bad in ("0", "-1", "x", "1.5", "00"):
        response = client.get(f"/predictions/history?limit={bad}")
        assert response.status_code == 400, bad
        assert "limit" in response.json["fields"]


def test_history_state_is_never_pasted_into_sql(client, app):
    client.post("/predict", json=FLAT)
    app.extensions["model_server"].log.flush()
    for attack in ("Texas' OR '1'='1", "x'; DROP TABLE predictions; --"):
        response = client.get("/predictions/history", query_string={"state": attack})
        assert response.status_code == 200
        assert response.json == {"predictions": [], "count": 0, "limit": 100}
    assert client.get("/predictions/history?state=Texas").json["count"] >= 1


# --- GET /metrics/summary -------------------------------------------------------------------
def test_metrics_summary_covers_the_last_24_hours(client, app):
    state = app.extensions["model_server"]
    state.log.flush()
    before = client.get("/metrics/summary").json
    prices = [client.post("/predict", json={**FLAT, "state": "Puerto Rico"}).json["price"]]
    batch = client.post("/batch_predict", json=[PARTIAL, {"bed": "x"}]).json
    prices.append(batch["predictions"][0]["price"])
    # A request logged 25 hours ago is outside the window, however dear.
    state.log.record(uuid.uuid4().hex, "predict", {"name": "house-price", "version": "99"},
                     [{**FLAT, "state": "Atlantis"}], [{"price": 9e9}], 1.0)  # fmt: skip
    state.log.flush()  # written by the log's thread: only then can its time be moved back
    with state.log.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE predictions SET created_at = ? WHERE model_version = '99'",
            ((datetime.now(UTC) - timedelta(hours=25)).strftime("%Y-%m-%d %H:%M:%S.%f"),),
        )
    state.log.flush()
    after = client.get("/metrics/summary").json
    assert after["total_predictions"] == before["total_predictions"] + 2
    assert after["requests"] == before["requests"] + 2
    assert after["max_price"] < 9e9
    assert after["min_price"] <= min(prices) and after["max_price"] >= max(prices)
    assert after["avg_price"] == pytest.approx(
        (before["avg_price"] * before["total_predictions"] + sum(prices))
        / after["total_predictions"], abs=0.02,
    )  # fmt: skip
    history = client.get("/predictions/history?limit=1000").json["predictions"]
    assert "Atlantis" in {entry["state"] for entry in history}  # logged, but 25 hours ago
    recent = {entry["state"] for entry in history if entry["model_version"] == "1"}
    assert "Puerto Rico" in recent
    assert after["unique_states"] == len(recent - {None})
    assert after["model_versions_used"] == 1
    assert after["avg_response_time_ms"] > 0
    assert after["window_hours"] == 24 and after["truncated"] is False


# --- POST /reload keeps its token -----------------------------------------------------------
def test_reload_without_the_token_is_refused(client):
    response = client.post("/reload")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- the same calls through real gunicorn ---------------------------------------------------
def test_original_clients_against_gunicorn(gunicorn_factory, mlflow_server):
    server = gunicorn_factory({"MLFLOW_TRACKING_URI": mlflow_server.url})
    server.wait_ready()
    url = server.url
    session = requests.Session()
    health = session.get(f"{url}/health", timeout=10).json()
    assert health["status"] == "healthy" and health["database_connected"] is True
    made = [session.post(f"{url}/predict", json={**PARTIAL, "bed": bed}, timeout=30).json()
            for bed in range(1, 9)]  # fmt: skip
    assert all(item["imputed_fields"] == ["bath", "acre_lot", "status"] for item in made)
    explained = session.post(f"{url}/explain", json=FLAT, timeout=30).json()
    assert abs(explained["base_value"] + sum(explained["shap_values"]) - explained["price"]) <= 1
    batch = session.post(f"{url}/batch_predict", json=[FLAT, {"bath": -2}], timeout=30).json()
    assert "price" in batch["predictions"][0] and "bath" in batch["predictions"][1]["error"]
    assert session.get(f"{url}/model", timeout=10).json()["model_version"] == "1"
    assert session.get(f"{url}/states", timeout=10).json()["states"]

    # Both workers' predictions, read back from the one log once their writers caught up.
    def summary_of_ten():
        body = session.get(f"{url}/metrics/summary", timeout=10).json()
        return body if body["requests"] == 10 else None

    summary = wait_for(summary_of_ten, timeout=30)
    assert summary["total_predictions"] == 10
    assert summary["unique_states"] == 2
    history = session.get(f"{url}/predictions/history?state=Ohio&limit=20", timeout=10).json()
    assert sorted(entry["bed"] for entry in history["predictions"]) == list(range(1, 9))
    assert {entry["predicted_price"] for entry in history["predictions"]} == {
        item["price"] for item in made
    }
    assert server.terminate() == 0
    assert "Traceback" not in server.log()
