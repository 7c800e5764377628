"""The emulator's HTTP contract through Flask's test client (fake clock, no sleeping)."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from data_api_emulator.app import DETAIL_EXHAUSTED, DETAIL_INVALID_GROUP, create_app
from data_api_emulator.config import EmulatorConfig
from data_api_emulator.generator import COLUMNS, generate_batch

DATA = "/data?group_number=5&day=Tuesday"
RESTART = "/restart_data_generation?group_number=5&day=Tuesday"


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def small_config(**kwargs) -> EmulatorConfig:
    base = {"rows_per_batch": 300, "batches_per_day": 3, "min_interval_seconds": 300, "seed": 11}
    return EmulatorConfig(**{**base, **kwargs})


@pytest.fixture
def app(clock: FakeClock) -> Flask:
    return create_app(small_config(), clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def strict_json(text: str) -> object:
    def refuse(token: str) -> None:
        raise AssertionError(f"bare {token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_data_answers_the_documented_shape(client: FlaskClient) -> None:
    response = client.get(DATA)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = strict_json(response.get_data(as_text=True))
    assert list(body) == ["group_number", "day", "batch_number", "data"]
    assert (body["group_number"], body["day"], body["batch_number"]) == (5, "Tuesday", 1)
    assert len(body["data"]) == 300
    assert all(list(record) == list(COLUMNS) for record in body["data"])
    assert any(record["bed"] is None for record in body["data"])


def test_sequence_advances_once_per_interval_then_exhausts(
    client: FlaskClient, clock: FakeClock
) -> None:
    first = client.get(DATA).get_json()
    clock.now += 299
    again = client.get(DATA).get_json()
    assert again["batch_number"] == 1
    assert again["data"] == first["data"]
    clock.now += 1
    second = client.get(DATA).get_json()
    assert second["batch_number"] == 2 and second["data"] != first["data"]
    clock.now += 300
    assert client.get(DATA).get_json()["batch_number"] == 3
    clock.now += 300
    response = client.get(DATA)
    assert response.status_code == 400
    assert response.get_json() == {"detail": DETAIL_EXHAUSTED}
    # Other days and groups have sequences of their own.
    assert client.get("/data?group_number=5&day=Monday").get_json()["batch_number"] == 1
    assert client.get("/data?group_number=6&day=Tuesday").get_json()["batch_number"] == 1


def test_restart_resets_the_group_and_day(client: FlaskClient, clock: FakeClock) -> None:
    for _ in range(3):
        client.get(DATA)
        clock.now += 300
    assert client.get(DATA).status_code == 400
    response = client.get(RESTART)
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"
    assert client.get(DATA).get_json()["batch_number"] == 1


def test_same_call_order_gives_identical_data(clock: FakeClock) -> None:
    def run() -> list[str]:
        clock.now = 0.0
        client = create_app(small_config(cache_batches=0), clock=clock).test_client()
        texts = []
        for day in ("Tuesday", "Friday"):
            for _ in range(3):
                texts.append(client.get(f"/data?group_number=2&day={day}").get_data(as_text=True))
                clock.now += 300
        return texts

    first, second = run(), run()
    assert first == second
    assert len(set(first)) == 6


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("/data?group_number=11&day=Tuesday", DETAIL_INVALID_GROUP),
        ("/data?group_number=0&day=Tuesday", DETAIL_INVALID_GROUP),
        ("/data?group_number=-5&day=Tuesday", DETAIL_INVALID_GROUP),
        ("/restart_data_generation?group_number=99&day=Monday", DETAIL_INVALID_GROUP),
        (
            "/data?day=Tuesday",
            "Missing required query parameter(s): group_number. "
            "Call /data?group_number=<integer>&day=<Monday|Tuesday|...|Sunday>",
        ),
        (
            "/data",
            "Missing required query parameter(s): group_number, day. "
            "Call /data?group_number=<integer>&day=<Monday|Tuesday|...|Sunday>",
        ),
        (
            "/restart_data_generation?group_number=5",
            "Missing required query parameter(s): day. Call "
            "/restart_data_generation?group_number=<integer>&day=<Monday|Tuesday|...|Sunday>",
        ),
        ("/data?group_number=five&day=Tuesday", "group_number must be an integer, got 'five'"),
        ("/data?group_number=5.0&day=Tuesday", "group_number must be an integer, got '5.0'"),
        ("/data?group_number=%205&day=Tuesday", "group_number must be an integer, got ' 5'"),
        (
            "/data?group_number=5&day=tuesday",
            "Invalid day 'tuesday': use one of Monday, Tuesday, Wednesday, Thursday, Friday, "
            "Saturday, Sunday",
        ),
        (
            "/data?group_number=5&day=Funday",
            "Invalid day 'Funday': use one of Monday, Tuesday, Wednesday, Thursday, Friday, "
            "Saturday, Sunday",
        ),
        (
            "/data/5/Tuesday",
            "Path parameters are not supported: send query parameters, "
            "/data?group_number=<integer>&day=<Monday|Tuesday|...|Sunday>",
        ),
        (
            "/data/",
            "Path parameters are not supported: send query parameters, "
            "/data?group_number=<integer>&day=<Monday|Tuesday|...|Sunday>",
        ),
        (
            "/restart_data_generation/5/Tuesday",
            "Path parameters are not supported: send query parameters, "
            "/restart_data_generation?group_number=<integer>&day=<Monday|Tuesday|...|Sunday>",
        ),
    ],
)
def test_client_mistakes_get_400_with_detail(client: FlaskClient, url: str, detail: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert response.get_json() == {"detail": detail}


def test_invalid_group_is_checked_before_exhaustion_and_sends_utf8(client: FlaskClient) -> None:
    response = client.get("/data?group_number=11&day=Tuesday")
    assert "Número de grupo inválido".encode() in response.get_data()


def test_a_refused_call_does_not_consume_a_batch(app: Flask, client: FlaskClient) -> None:
    client.get("/data/5/Tuesday")
    client.get("/data?group_number=5&day=Funday")
    client.get("/data?group_number=5")
    assert app.extensions["data_api_emulator"].sequencer.snapshot() == {}


@pytest.mark.parametrize(
    ("method", "url", "status", "detail"),
    [
        ("get", "/nothing-here", 404, "Not Found"),
        ("post", DATA, 405, "Method Not Allowed"),
    ],
)
def test_other_errors_are_json(
    client: FlaskClient, method: str, url: str, status: int, detail: str
) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == status
    assert response.get_json() == {"detail": detail}


def test_a_405_names_the_allowed_methods(client: FlaskClient) -> None:
    """RFC 9110: a 405 carries Allow (schemathesis's undeclared-method check asks for it)."""
    for response in (client.open(DATA, method="TRACE"), client.post(RESTART), client.head(DATA)):
        assert response.status_code == 405
        assert "GET" in response.headers["Allow"]


def test_head_does_not_consume_a_batch(app: Flask, client: FlaskClient) -> None:
    assert client.head(DATA).status_code == 405
    assert client.head(RESTART).status_code == 405
    assert client.head("/health").status_code == 200
    assert app.extensions["data_api_emulator"].sequencer.snapshot() == {}


def test_unexpected_errors_are_json_500(app: Flask, client: FlaskClient) -> None:
    def broken(group: int, day: int, batch: int) -> str:
        raise RuntimeError("boom")

    app.extensions["data_api_emulator"].cache._build = broken
    response = client.get(DATA)
    assert response.status_code == 500
    assert response.get_json() == {"detail": "Internal Server Error"}


def test_health_and_index(client: FlaskClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200
    body = health.get_json()
    assert body["status"] == "ok" and body["mode"] == "generator"
    assert body["rows_per_batch"] == 300 and body["groups"] == list(range(1, 11))
    assert body["repeat_share"] == 0.2
    assert "/data" in client.get("/").get_json()["routes"]


def test_metrics_count_requests_batches_and_exhaustion(
    client: FlaskClient, clock: FakeClock
) -> None:
    for _ in range(4):
        client.get(DATA)
        clock.now += 300
    client.get(DATA)  # still exhausted
    client.get("/data?group_number=77&day=Tuesday")
    client.get(RESTART)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    lines = set(text.splitlines())
    assert 'data_api_emulator_requests_total{method="GET",route="/data",status="200"} 3.0' in lines
    assert 'data_api_emulator_requests_total{method="GET",route="/data",status="400"} 3.0' in lines
    assert 'data_api_emulator_batches_served_total{day="Tuesday",group="5"} 3.0' in lines
    assert 'data_api_emulator_rows_served_total{day="Tuesday",group="5"} 900.0' in lines
    assert 'data_api_emulator_exhausted_answers_total{day="Tuesday",group="5"} 2.0' in lines
    assert 'data_api_emulator_restarts_total{day="Tuesday",group="5"} 1.0' in lines
    assert 'data_api_emulator_current_batch{day="Tuesday",group="5"} 0.0' in lines
    assert "data_api_emulator_batch_build_seconds_count 3.0" in lines
    assert "data_api_emulator_request_duration_seconds_bucket" in text


def test_repeated_batch_is_served_from_the_cache(client: FlaskClient) -> None:
    client.get(DATA)
    client.get(DATA)
    text = client.get("/metrics").get_data(as_text=True)
    assert "data_api_emulator_batch_build_seconds_count 1.0" in text


def test_create_app_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_API_EMULATOR_GROUPS", "40-42")
    monkeypatch.setenv("DATA_API_EMULATOR_ROWS_PER_BATCH", "10")
    client = create_app().test_client()
    body = client.get("/data?group_number=41&day=Sunday").get_json()
    assert len(body["data"]) == 10
    assert client.get(DATA).get_json() == {"detail": DETAIL_INVALID_GROUP}


def test_dirt_survives_the_json_answer(clock: FakeClock) -> None:
    client = create_app(small_config(rows_per_batch=5000), clock=clock).test_client()
    records = strict_json(client.get(DATA).get_data(as_text=True))["data"]
    zips = [r["zip_code"] for r in records]
    assert any(isinstance(z, str) and z.startswith("0") and len(z) == 5 for z in zips)
    assert any(isinstance(z, int) for z in zips)
    assert any(isinstance(r["price"], str) for r in records)
    assert any(isinstance(r["price"], float) for r in records)
    assert any(r["prev_sold_date"] == "" for r in records)
    assert any(r["prev_sold_date"] is None for r in records)
    rows = [json.dumps(r, sort_keys=True) for r in records]
    assert len(rows) - len(set(rows)) == round(0.01 * 5000)


def addresses(records: list[dict]) -> list[tuple]:
    return [(r["street"], r["city"], r["state"], r["zip_code"]) for r in records]


def test_later_batches_re_serve_listings_of_earlier_ones(clock: FakeClock) -> None:
    app = create_app(small_config(rows_per_batch=2000, repeat_share=0.3), clock=clock)
    client = app.test_client()
    seen: set[tuple] = set()
    for number in (1, 2, 3):
        records = strict_json(client.get(DATA).get_data(as_text=True))["data"]
        clock.now += 300
        known = [a in seen for a in addresses(records) if a[0] is not None]
        share = sum(known) / len(records)
        # Exactly 600 rows of 2000 are repeats; a few have no street (no address key).
        assert (share == 0) if number == 1 else (0.29 <= share <= 0.3), (number, share)
        seen.update(a for a in addresses(records) if a[0] is not None)


def test_repeat_share_zero_serves_the_generated_batches_unchanged(clock: FakeClock) -> None:
    config = small_config(repeat_share=0)
    client = create_app(config, clock=clock).test_client()
    for number in (1, 2, 3):
        body = strict_json(client.get(DATA).get_data(as_text=True))
        clock.now += 300
        expected = generate_batch(5, "Tuesday", number, 300, config.seed)
        assert body["data"] == json.loads(expected.to_json(orient="records"))
