"""API keys on the model server: who may call which route (model_server.auth)."""

from __future__ import annotations

import logging

import pytest

from house_prices.settings import SettingsError
from model_server.auth import HEADER, parse_keys
from model_server.config import ServerConfig
from testsupport.model_server import API_KEYS, CLIENT_KEY, LISTING, OPERATOR_KEY, TOKEN

CLIENT = {HEADER: CLIENT_KEY}
OPERATOR = {HEADER: OPERATOR_KEY}
FLAT = {k: v for k, v in LISTING.items()}


def _app(mlflow_server, state_dir, **auth):
    from model_server import create_app

    config = ServerConfig(settings=mlflow_server.settings, state_dir=state_dir, **auth)
    application = create_app(config, start_background=False)
    application.extensions["model_server"].log.start()
    assert application.extensions["model_server"].holder.reload() == "reloaded"
    return application


@pytest.fixture(scope="module")
def secured(mlflow_server, tmp_path_factory):
    application = _app(
        mlflow_server,
        tmp_path_factory.mktemp("secured"),
        auth_enabled=True,
        api_keys=parse_keys(API_KEYS),
        metrics_port=9464,
    )
    yield application
    application.extensions["model_server"].close()


@pytest.fixture
def raw(secured):
    """A client of the secured app that sends no key by itself, on the API port."""
    return secured.test_client()  # port 80: the API port


SCORING = [
    ("post", "/predict", {"json": {"listing": LISTING}}),
    ("post", "/explain", {"json": {"listing": LISTING}}),
    ("post", "/predict", {"json": FLAT}),  # the original dialect, same routes
    ("post", "/batch_predict", {"json": [FLAT]}),
    ("get", "/model", {}),
    ("get", "/openapi.json", {}),
]
OPERATOR_ONLY = [
    ("get", "/predictions", {}),
    ("get", "/explanations/" + "0" * 32, {}),
    ("post", "/reload", {"headers": {"Authorization": f"Bearer {TOKEN}"}}),
    ("get", "/predictions/history", {}),
    ("get", "/metrics/summary", {}),
]


def _call(client, method, path, kwargs, key=None):
    kwargs = dict(kwargs)
    headers = dict(kwargs.pop("headers", {}))
    if key:
        headers[HEADER] = key
    return getattr(client, method)(path, headers=headers, **kwargs)


@pytest.mark.parametrize(("method", "path", "kwargs"), SCORING + OPERATOR_ONLY)
def test_no_key_or_a_wrong_key_is_401(raw, method, path, kwargs):
    for key in (None, "", CLIENT_KEY[:-1] + "x", CLIENT_KEY + "x"):
        response = _call(raw, method, path, kwargs, key)
        assert response.status_code == 401, (path, response.json)
        assert response.json["error"] == "unauthorized"
        assert HEADER in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("method", "path", "kwargs"), SCORING)
def test_a_client_key_may_score(raw, method, path, kwargs):
    assert _call(raw, method, path, kwargs, CLIENT_KEY).status_code == 200


@pytest.mark.parametrize(("method", "path", "kwargs"), OPERATOR_ONLY)
def test_operator_routes_refuse_a_client_key_with_403(raw, method, path, kwargs):
    refused = _call(raw, method, path, kwargs, CLIENT_KEY)
    assert refused.status_code == 403
    assert "'scripts' is not an operator key" in refused.json["message"]
    assert _call(raw, method, path, kwargs, OPERATOR_KEY).status_code in (200, 404)


def test_health_and_ready_stay_open(raw):
    assert raw.get("/health").status_code == 200
    assert raw.get("/ready").status_code == 200


def test_keys_never_appear_in_answers_or_logs(raw, caplog):
    with caplog.at_level(logging.DEBUG):
        answers = [
            raw.post("/predict", json={"listing": LISTING}, headers={HEADER: "wrong" * 4}).data,
            raw.get("/predictions", headers=CLIENT).data,
            raw.post("/predict", json={"listing": LISTING}, headers=CLIENT).data,
        ]
    text = b"".join(answers).decode() + caplog.text
    assert CLIENT_KEY not in text and OPERATOR_KEY not in text and "wrong" * 4 not in text


def test_auth_off_lets_everything_through(mlflow_server, tmp_path):
    application = _app(mlflow_server, tmp_path, api_keys=parse_keys(API_KEYS))
    try:
        plain = application.test_client()
        assert plain.post("/predict", json={"listing": LISTING}).status_code == 200
        assert plain.get("/predictions").status_code == 200
        assert plain.get("/metrics").status_code == 200
    finally:
        application.extensions["model_server"].close()


def test_metrics_only_on_the_metrics_port(secured, raw):
    metrics_port = "http://localhost:9464"
    assert raw.get("/metrics", headers=OPERATOR).status_code == 404
    assert raw.get(f"{metrics_port}/metrics").status_code == 200  # no key: the port is the guard
    assert raw.post(f"{metrics_port}/predict", json={"listing": LISTING}).status_code == 404
    assert raw.get("/health").status_code == 200


def test_key_settings_are_checked_without_echoing_keys():
    secret = "averysecretvalue-123456"
    with pytest.raises(SettingsError) as bad_role:
        ServerConfig.from_env({"MODEL_SERVER_API_KEYS": f"a:admin:{secret}"})
    assert secret not in str(bad_role.value) and "<hidden>" in str(bad_role.value)
    with pytest.raises(SettingsError, match="needs MODEL_SERVER_API_KEYS"):
        ServerConfig.from_env({"MODEL_SERVER_AUTH": "on"})
    with pytest.raises(SettingsError, match="on or off"):
        ServerConfig.from_env({"MODEL_SERVER_AUTH": "yes please"})
    with pytest.raises(ValueError, match="listed twice"):
        parse_keys(f"a:client:{secret},a:operator:{secret}x")
    with pytest.raises(ValueError, match="at least 16"):
        parse_keys("a:client:short")
    config = ServerConfig.from_env({"MODEL_SERVER_AUTH": "off", "MODEL_SERVER_API_KEYS": API_KEYS})
    assert not config.auth_enabled and [k.name for k in config.api_keys] == ["scripts", "ops"]
    assert CLIENT_KEY not in repr(config)
    assert ServerConfig.from_env(
        {"MODEL_SERVER_AUTH": "on", "MODEL_SERVER_API_KEYS": API_KEYS}
    ).auth_enabled
