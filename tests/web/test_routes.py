"""Route tests with Flask's test client against a real model server and a real MLflow."""

from __future__ import annotations

import re
import time

import pytest
import requests

import web.clients
from tests.web.conftest import OPERATOR, web_config
from testsupport.model_server import HOUSE
from testsupport.servers import free_port, wait_for
from web import create_app

pytestmark = pytest.mark.integration


def csrf(client, path="/"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_form_offers_the_model_ranges_and_choices(client):
    page = client.get("/").get_data(as_text=True)
    assert "<option selected>Texas</option>" in page
    assert 'name="house_size"' in page and 'max="' in page


def test_form_offers_only_what_the_model_uses_and_starts_at_whole_counts(client):
    page = client.get("/").get_data(as_text=True)
    assert 'name="city"' not in page and 'name="zip_code"' not in page
    bedrooms = re.search(r'id="bed" name="bed"[^>]*value="([^"]*)"', page, re.S).group(1)
    assert bedrooms == "3"  # the training median, a count: not "3.0"


def test_one_submission_is_one_model_server_call_and_one_logged_prediction(
    client, model_server_url, monkeypatch
):
    def logged() -> list[dict]:
        answer = requests.get(f"{model_server_url}/predictions?limit=1000", timeout=10)
        return answer.json()["predictions"]

    token = csrf(client)
    before = len(logged())
    assert before < 1000
    calls: list[tuple[str, str]] = []
    real_request = web.clients.requests.request

    def counting(method, url, **kwargs):
        calls.append((method, url.removeprefix(model_server_url)))
        return real_request(method, url, **kwargs)

    monkeypatch.setattr(web.clients.requests, "request", counting)
    page = client.post("/", data={**HOUSE, "csrf_token": token}).get_data(as_text=True)
    monkeypatch.undo()
    assert calls == [("POST", "/explain")]
    request_id = re.search(r"Request ([0-9a-f]{32})", page).group(1)
    wait_for(lambda: any(row["request_id"] == request_id for row in logged()), timeout=10)
    time.sleep(1.0)  # the log's writer thread batches: give a second row the time to show
    assert len(logged()) == before + 1
    assert "between <strong>$" in page  # the spread, from the same /explain answer


def test_the_result_shows_counts_as_counts(client):
    page = client.post("/", data={**HOUSE, "bed": "3.0", "csrf_token": csrf(client)})
    text = page.get_data(as_text=True)
    assert "<td>bed</td><td>3</td>" in text and "<td>3.0</td>" not in text


def test_prediction_page_shows_price_spread_waterfall_table_and_sentences(client):
    response = client.post("/", data={**HOUSE, "csrf_token": csrf(client)})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'id="price">\$[\d,]+<', page)
    assert "10th\u201390th percentile" in page
    assert page.count("<rect") >= 6  # one bar per feature
    assert "per square foot" in page and "per bedroom" in page
    assert re.search(r"(adds?|takes? off) about \$[\d,]+\.", page)
    assert "contributions" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bed", "many", "Bedrooms must be a number"),
        ("bath", "", "Bathrooms is required"),
        ("house_size", "-5", "House size: must be greater than 0"),
        ("bed", "1000000", "Bedrooms: must be at most"),
        ("state", "Atlantis", "State: unknown state"),
        ("status", "rented", "Status: must be one of"),
    ],
)
def test_invalid_values_are_shown_beside_the_field_and_kept(client, field, value, message):
    response = client.post("/", data={**HOUSE, field: value, "csrf_token": csrf(client)})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert 'aria-invalid="true"' in page or 'class="field invalid"' in page
    assert 'value="1850"' in page or field == "house_size"  # what was typed survives


def test_post_without_csrf_token_is_refused(client):
    response = client.post("/", data=HOUSE)
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_compare_prices_the_same_house_in_each_state(client):
    data = {**HOUSE, "states": ["Texas", "Ohio"], "csrf_token": csrf(client, "/compare")}
    page = client.post("/compare", data=data).get_data(as_text=True)
    assert page.count("<rect") == 2
    assert "<td>Texas</td>" in page and "<td>Ohio</td>" in page


def test_compare_shows_the_model_servers_field_errors_beside_the_fields(client):
    data = {**HOUSE, "bed": "1000000", "states": ["Texas"], "csrf_token": csrf(client, "/compare")}
    response = client.post("/compare", data=data)
    assert response.status_code == 400
    assert "Bedrooms: must be at most" in response.get_data(as_text=True)


def test_models_page_shows_champion_history_and_importance(client, mlflow_server):
    page = client.get("/models").get_data(as_text=True)
    assert "Champion: house-price version" in page
    assert page.count('<tr class="promoted">') + page.count('<tr class="rejected">') >= 1
    assert "global importance" in page
    assert re.search(r"scored on [\d,]+ held-out listings that no version", page)


def test_status_reload_needs_the_operator(client):
    token = csrf(client, "/status")
    page = client.post(
        "/status/reload", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Only an operator can reload" in page
    page = client.post(
        "/status/login", data={"csrf_token": token, "token": "wrong"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "not the operator token" in page
    client.post("/status/login", data={"csrf_token": token, "token": OPERATOR})
    page = client.post(
        "/status/reload", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert re.search(r"Model server (reloaded|unchanged): serving version \d+", page)
    assert "Model server (live)" in page and "Airflow" in page


def test_model_server_down_gives_a_clear_503(mlflow_server):
    closed = f"http://127.0.0.1:{free_port()}"
    client = create_app(web_config(closed, mlflow_server.url)).test_client()
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "The model server is not answering" in page
    assert "Traceback" not in page
    assert client.get("/", headers={"Accept": "application/json"}).get_json()["error"] == (
        "unavailable"
    )


def test_mlflow_down_gives_a_clear_503(model_server_url):
    closed = f"http://127.0.0.1:{free_port()}"
    response = create_app(web_config(model_server_url, closed)).test_client().get("/models")
    assert response.status_code == 503
    assert "The MLflow is not answering" in response.get_data(as_text=True)
