"""The API through Flask's test client, against versions registered in a real MLflow server."""

from __future__ import annotations

import dataclasses
import json

import pytest

from house_prices.explain import ADDITIVITY_TOLERANCE
from house_prices.features import FEATURES
from model_server.scoring import listings_frame
from testsupport.model_server import LISTING, TOKEN
from testsupport.servers import free_port

# A real MLflow server holds the versions the app serves.
pytestmark = pytest.mark.integration

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_predict_one_listing_matches_the_pipeline(client, app):
    response = client.post("/predict", json={"listing": LISTING})
    assert response.status_code == 200, response.json
    body = response.json
    assert len(body["request_id"]) == 32
    assert body["model"] == {"name": "house-price", "version": "1"}
    (prediction,) = body["predictions"]
    pipeline = app.extensions["model_server"].holder.current.scorer.pipeline
    expected = float(pipeline.predict(listings_frame([LISTING]))[0])
    assert prediction["price"] == pytest.approx(expected, abs=0.01)
    assert prediction["price_low"] <= prediction["price"] <= prediction["price_high"]


def test_predict_batch_with_nulls_imputed(client):
    listings = [LISTING, {**LISTING, "bed": None, "acre_lot": None}, {**LISTING, "state": "Ohio"}]
    response = client.post("/predict", json={"listings": listings})
    assert response.status_code == 200
    assert len(response.json["predictions"]) == 3


def test_explain_adds_up_to_the_price_and_gives_the_spread_predict_gives(client):
    response = client.post("/explain", json={"listing": LISTING})
    assert response.status_code == 200, response.json
    body = response.json
    contributions = body["contributions"]
    assert sorted(item["feature"] for item in contributions) == sorted(FEATURES)
    sizes = [abs(item["contribution"]) for item in contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert {item["feature"]: item["value"] for item in contributions} == LISTING
    total = body["base_value"] + sum(item["contribution"] for item in contributions)
    assert abs(total - body["price"]) <= ADDITIVITY_TOLERANCE
    assert body["additivity_error"] == pytest.approx(abs(total - body["price"]), abs=0.01)
    assert body["tolerance"] == ADDITIVITY_TOLERANCE
    assert "prediction" not in body  # one name for the price on both endpoints
    predicted = client.post("/predict", json={"listing": LISTING}).json["predictions"][0]
    assert {key: body[key] for key in predicted} == pytest.approx(predicted, abs=0.01)
    assert body["price_low"] < body["price"] < body["price_high"]


def test_explanation_of_an_earlier_request_stays_with_its_version(client, app, champion):
    first = client.post("/predict", json={"listing": LISTING}).json
    assert first["model"]["version"] == "1"
    champion.set_champion("2")
    reloaded = client.post("/reload", headers=AUTH)
    assert reloaded.status_code == 200, reloaded.json
    assert reloaded.json == {"status": "reloaded", "model": {"name": "house-price", "version": "2"}}
    second = client.post("/predict", json={"listing": LISTING}).json
    assert second["model"]["version"] == "2"
    assert second["predictions"][0]["price"] != first["predictions"][0]["price"]

    old = client.get(f"/explanations/{first['request_id']}")
    assert old.status_code == 200, old.json
    assert old.json["model"]["version"] == "1"
    assert old.json["request_id"] == first["request_id"]
    assert old.json["price"] == pytest.approx(first["predictions"][0]["price"], abs=0.01)
    assert old.json["price_low"] == pytest.approx(first["predictions"][0]["price_low"], abs=0.01)
    assert old.json["created_at"].startswith("20")
    new = client.get(f"/explanations/{second['request_id']}").json
    assert new["model"]["version"] == "2"

    champion.set_champion("1")
    assert client.post("/reload", headers=AUTH).json["status"] == "reloaded"


def test_unknown_explanation_is_404(client):
    response = client.get("/explanations/" + "0" * 32)
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert client.get("/explanations/not-an-id").status_code == 404


def test_reload_needs_the_token(client):
    missing = client.post("/reload")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/reload", headers={"Authorization": "Bearer nope"}).status_code == 403
    same = client.post("/reload", headers=AUTH)
    assert same.status_code == 200
    assert same.json["status"] == "unchanged"


def test_failed_reload_keeps_serving_the_old_model(client, app):
    holder = app.extensions["model_server"].holder
    good = holder.config
    closed = f"http://127.0.0.1:{free_port()}"
    holder.config = dataclasses.replace(
        good, settings=dataclasses.replace(good.settings, mlflow_tracking_uri=closed)
    )
    try:
        response = client.post("/reload", headers=AUTH)
    finally:
        holder.config = good
    assert response.status_code == 503
    assert response.json["error"] == "reload_failed"
    assert "unreachable" in response.json["message"]
    served = client.post("/predict", json={"listing": LISTING})
    assert served.status_code == 200
    assert served.json["model"]["version"] == "1"
    metrics = client.get("/metrics").data.decode()
    assert 'model_server_reloads_total{result="failure",trigger="api"}' in metrics


def test_health_ready_and_model(client):
    assert client.get("/health").json == {
        "status": "healthy",
        "model_loaded": True,
        "explainer_loaded": True,
        "database_connected": True,
    }
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "model": {"name": "house-price", "version": "1"}}
    model = client.get("/model").json
    assert model["alias"] == "champion"
    assert set(model["metrics"]) >= {"rmse", "mae", "r2", "mape"}
    assert model["training"]["rows"] > 0
    assert model["training"]["batch_keys"]
    assert model["features"]["categorical"]["state"] == ["Ohio", "Puerto Rico", "Texas"]
    assert model["features"]["categorical"]["status"] == ["for_sale", "sold", "ready_to_build"]
    assert model["features"]["numeric"]["house_size"]["max"] > 3999
    assert set(model["importance"]) == set(FEATURES)
    assert len(model["run_id"]) == 32


def test_recent_predictions_are_logged(client, app):
    made = client.post("/predict", json={"listing": LISTING}).json
    app.extensions["model_server"].log.flush()
    rows = client.get("/predictions?limit=3").json["predictions"]
    assert len(rows) == 3
    newest = rows[0]
    assert newest["request_id"] == made["request_id"]
    assert newest["inputs"] == [LISTING]
    assert newest["output"] == made["predictions"]
    assert newest["model_version"] == "1"
    assert newest["latency_ms"] > 0
    assert client.get("/predictions?limit=0").status_code == 400
    assert client.get("/predictions?limit=x").json["fields"]["limit"].startswith("must be")


def test_metrics_count_requests_and_predictions(client):
    client.post("/predict", json={"listings": [LISTING, LISTING]})
    text = client.get("/metrics").data.decode()
    assert 'model_server_predictions_total{model_name="house-price",model_version="1"}' in text
    assert 'model_server_requests_total{endpoint="/predict",method="POST",status="200"}' in text
    assert "model_server_request_duration_seconds_bucket" in text


def test_openapi_document_lists_every_route(client, app):
    document = client.get("/openapi.json").json
    assert document["openapi"].startswith("3.")
    documented = {path.replace("{request_id}", "<request_id>") for path in document["paths"]}
    served = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert documented == served
    listing = document["components"]["schemas"]["Listing"]
    assert listing["properties"]["state"]["enum"] == ["Ohio", "Puerto Rico", "Texas"]
    assert listing["additionalProperties"] is False


# --- bad input over HTTP: always 4xx with the one error shape, never 500 -------------------
BAD_REQUESTS = [
    ("wrong content type", {"data": json.dumps({"listing": LISTING}),
                            "content_type": "text/plain"}, 415, None),
    ("no content type", {"data": json.dumps({"listing": LISTING})}, 415, None),
    ("form body", {"data": {"bed": "3"}}, 415, None),
    ("invalid JSON", {"data": "{", "content_type": "application/json"}, 400, None),
    ("NaN", {"data": '{"listing": NaN}', "content_type": "application/json"}, 400, None),
    ("missing field", {"json": {"listing": {k: v for k, v in LISTING.items() if k != "bed"}}},
     400, "listing.bed"),
    ("wrong type", {"json": {"listing": {**LISTING, "bath": "two"}}}, 400, "listing.bath"),
    ("out of range", {"json": {"listing": {**LISTING, "bed": 10_000}}}, 400, "listing.bed"),
    ("negative", {"json": {"listing": {**LISTING, "acre_lot": -1}}}, 400, "listing.acre_lot"),
    ("unknown field", {"json": {"listing": {**LISTING, "pool": True}}}, 400, "listing.pool"),
    ("unknown top-level field", {"json": {"listing": LISTING, "x": 1}}, 400, "x"),
    ("empty batch", {"json": {"listings": []}}, 400, "listings"),
    ("oversized batch", {"json": {"listings": [LISTING] * 1001}}, 400, "listings"),
    ("not an object", {"json": [LISTING]}, 400, "body"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
@pytest.mark.parametrize("path", ["/predict", "/explain"])
def test_bad_input_gets_4xx_with_a_message(client, path, kwargs, status, field):
    response = client.post(path, **kwargs)
    assert response.status_code == status, response.json
    body = response.json
    assert body["error"] and body["message"]
    if field is not None:
        expected_field = "listing" if path == "/explain" and field == "listings" else field
        assert expected_field in body["fields"], body


def test_oversized_body_is_413(client):
    body = b'{"listings": [' + b'{"bed": 1},' * 500_000 + b"{}]}"
    response = client.post("/predict", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json["error"] == "payload_too_large"


def test_unknown_path_and_wrong_method(client):
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.json["error"] == "not_found"
    wrong = client.get("/predict")
    assert wrong.status_code == 405
    assert wrong.json["error"] == "method_not_allowed"
    assert "POST" in wrong.headers["Allow"]
