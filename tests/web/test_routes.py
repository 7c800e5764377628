"""Route tests with Flask's test client against a real model server and a real MLflow."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import OPERATOR, web_config
from testsupport.model_server import HOUSE
from testsupport.servers import free_port
from web import create_app

pytestmark = pytest.mark.integration


def csrf(client, path="/"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_form_offers_the_model_ranges_and_choices(client):
    page = client.get("/").get_data(as_text=True)
    assert "<option selected>Texas</option>" in page
    assert 'name="house_size"' in page and 'max="' in page


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
        ("house_size", "-5", "House size must be"),
        ("zip_code", "12", "5 digits"),
        ("state", "Atlantis", "choose a state"),
    ],
)
def test_invalid_values_are_shown_beside_the_field_and_kept(client, field, value, message):
    response = client.post("/", data={**HOUSE, field: value, "csrf_token": csrf(client)})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert 'aria-invalid="true"' in page or 'class="field invalid"' in page
    assert 'value="Austin"' in page  # what was typed survives


def test_post_without_csrf_token_is_refused(client):
    response = client.post("/", data=HOUSE)
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_compare_prices_the_same_house_in_each_state(client):
    data = {**HOUSE, "states": ["Texas", "Ohio"], "csrf_token": csrf(client, "/compare")}
    page = client.post("/compare", data=data).get_data(as_text=True)
    assert page.count("<rect") == 2
    assert "<td>Texas</td>" in page and "<td>Ohio</td>" in page


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
