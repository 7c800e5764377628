"""Security headers on every response, secure cookies over TLS, the login throttle, 413.

No backing service is needed: the pages used here answer without the model server or MLflow.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from testsupport import servers
from testsupport.body_limit import refusal_seconds
from testsupport.servers import free_port
from web import create_app
from web.config import WebConfig
from web.security import LoginThrottle

OPERATOR = "the-operator-token"
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def _app(**overrides):
    closed = f"http://127.0.0.1:{free_port()}"
    values = {
        "model_server_url": closed,
        "mlflow_url": closed,
        "airflow_url": closed,
        "data_api_url": closed,
        "operator_token": OPERATOR,
        "secret_key": "test-secret",
        "timeout": 0.5,
        **overrides,
    }
    return create_app(WebConfig(**values))


def _csrf(client) -> str:
    page = client.get("/status")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]


def _login(client, token: str, address: str = "192.0.2.10"):
    return client.post(
        "/status/login",
        data={"csrf_token": _csrf(client), "token": token},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/health"), ("GET", "/status"), ("GET", "/nope"), ("POST", "/status/login")],
)
def test_every_response_carries_the_security_headers(method, path):
    response = _app().test_client().open(path, method=method)
    policy = response.headers["Content-Security-Policy"]
    directives = dict(item.strip().split(" ", 1) for item in policy.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_templates_hold_no_inline_script_style_or_event_handler():
    """What the policy forbids must not be in the pages (the browser would drop it)."""
    offending = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\son[a-z]+\s*=|\sstyle\s*=", text):
            offending.append(template.name)
    assert offending == []


def test_session_cookie_is_secure_only_when_the_setting_says_tls():
    for secure in (False, True):
        client = _app(secure_cookies=secure).test_client()
        cookie = client.get("/status").headers["Set-Cookie"]
        assert ("Secure" in cookie) is secure, cookie
        assert "HttpOnly" in cookie


def test_hsts_is_sent_when_served_over_tls_and_only_then():
    """Strict-Transport-Security: with WEB_SECURE_COOKIES (the pod's setting when TLS is on) or
    on a request that came over HTTPS; never on plain HTTP without the setting (a browser
    would then refuse a UI that has no TLS)."""
    plain = _app(secure_cookies=False).test_client()
    assert "Strict-Transport-Security" not in plain.get("/status").headers
    over_https = plain.get("/status", base_url="https://localhost")
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000"
    configured = _app(secure_cookies=True).test_client()
    for page in ("/status", "/no-such-page"):
        answer = configured.get(page)
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000", page


def test_secure_cookie_setting_is_read_from_the_environment():
    assert WebConfig.from_env({"WEB_SECURE_COOKIES": "true"}).secure_cookies is True
    assert WebConfig.from_env({}).secure_cookies is False
    assert WebConfig.from_env({"WEB_LOGIN_FAILURES": "3"}).login_failures == 3


def test_failed_logins_from_one_address_get_429_with_retry_after():
    client = _app(login_failures=3, login_window_seconds=60).test_client()
    for _ in range(3):
        assert _login(client, "wrong").status_code == 302
    refused = _login(client, "wrong")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Content-Security-Policy" in refused.headers
    # Even the right token waits: the throttle answers before the token is looked at.
    assert _login(client, OPERATOR).status_code == 429
    # Another address is not affected.
    assert _login(client, OPERATOR, address="192.0.2.99").status_code == 302


def test_a_successful_login_clears_the_failures_of_the_address():
    client = _app(login_failures=3, login_window_seconds=60).test_client()
    for _ in range(2):
        _login(client, "wrong")
    assert _login(client, OPERATOR).status_code == 302
    for _ in range(2):
        assert _login(client, "wrong").status_code == 302
    assert _login(client, "wrong").status_code == 302
    assert _login(client, "wrong").status_code == 429


def test_the_throttle_window_slides():
    now = [1000.0]
    throttle = LoginThrottle(failures=2, window=30, clock=lambda: now[0])
    throttle.failed("a")
    now[0] += 10
    throttle.failed("a")
    assert throttle.retry_after("a") == 20
    now[0] += 20
    assert throttle.retry_after("a") == 0  # the first failure left the window
    throttle.failed("a")
    assert throttle.retry_after("a") == 10


def test_a_body_over_the_limit_is_413_before_it_is_read():
    client = _app(max_body_bytes=64 * 1024).test_client()
    body = b"token=" + b"x" * (8 * 1024 * 1024)
    started = time.perf_counter()
    response = client.post(
        "/status/login", data=body, content_type="application/x-www-form-urlencoded"
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 413
    assert elapsed < 0.5, elapsed


def test_gunicorn_refuses_an_oversized_form_at_once(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"WEB_MAX_BODY_BYTES": str(64 * 1024), "WEB_OPERATOR_TOKEN": OPERATOR}
    command = servers.gunicorn_command("web.wsgi:app", port)
    with servers.serve(command, f"{url}/health", tmp_path / "web.log", env):
        status, seconds = refusal_seconds(
            url, "/status/login", "application/x-www-form-urlencoded", announced=200 * 1024**2
        )
    assert status == 413
    assert seconds < 1.0, seconds
    print(f"\nweb UI 413 after {seconds * 1000:.1f} ms")
