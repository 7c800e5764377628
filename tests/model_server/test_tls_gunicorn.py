"""TLS and API keys for real: gunicorn serving with the certificate the platform_tls role made.

The certificates come from the real role (render.yml against the test inventory); the client
verifies the server against the appliance CA, as the web UI, the pipeline and scripts do.
"""

from __future__ import annotations

import re
import ssl
import sys
from pathlib import Path

import pytest
import requests

from house_prices.pipeline import notify_model_server
from house_prices.settings import Settings
from testsupport.model_server import API_KEYS, CLIENT_KEY, LISTING, OPERATOR_KEY, REPO, TOKEN
from testsupport.servers import free_port, start, stop_process, wait_http

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def role_tls(rendered) -> Path:
    """The TLS directory the platform_tls role wrote in the session's render."""
    return rendered.inventory / "secrets" / "tls"


def _keyed_model_server(tls: Path, gunicorn_factory, mlflow_server):
    """The model server under gunicorn with the role's certificate and API keys, ready;
    returns (server, url)."""
    server = gunicorn_factory(
        {
            "MLFLOW_TRACKING_URI": mlflow_server.url,
            "MODEL_SERVER_TLS_CERT": str(tls / "model_server.crt"),
            "MODEL_SERVER_TLS_KEY": str(tls / "model_server.key"),
            "MODEL_SERVER_AUTH": "on",
            "MODEL_SERVER_API_KEYS": API_KEYS,
        }
    )
    url = f"https://127.0.0.1:{server.port}"
    wait_http(f"{url}/ready", 120, server.process, verify=str(tls / "ca.crt"))
    return server, url


def test_model_server_over_tls_with_api_keys(role_tls, gunicorn_factory, mlflow_server):
    ca = role_tls / "ca.crt"
    server, url = _keyed_model_server(role_tls, gunicorn_factory, mlflow_server)

    def call(method, path, key=None, **kwargs):
        headers = {"X-API-Key": key} if key else {}
        return requests.request(
            method, f"{url}{path}", headers=headers, verify=str(ca), timeout=30, **kwargs
        )

    assert call("GET", "/health").status_code == 200
    assert call("POST", "/predict", json={"listing": LISTING}).status_code == 401
    assert (
        call("POST", "/predict", "wrong-key-0123456789", json={"listing": LISTING}).status_code
        == 401
    )
    scored = call("POST", "/predict", CLIENT_KEY, json={"listing": LISTING})
    assert scored.status_code == 200 and scored.json()["predictions"][0]["price"] > 0
    assert call("GET", "/predictions", CLIENT_KEY).status_code == 403
    rows = call("GET", "/predictions?limit=1", OPERATOR_KEY)
    assert rows.status_code == 200 and rows.json()["predictions"]

    # A client that does not trust the appliance CA refuses the server; plain HTTP gets nothing.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{url}/health", timeout=10)
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{server.port}/health", timeout=10)
    # The certificate served is the role's, for the name clients use.
    served = ssl.get_server_certificate(("127.0.0.1", server.port))
    assert served.strip() == (role_tls / "model_server.crt").read_text().strip()
    for key in (CLIENT_KEY, OPERATOR_KEY):
        assert key not in server.log()


def _web_ui(tls: Path, model_server_url: str, log: Path, **env: str):
    """A real gunicorn web UI serving the role's web_ui certificate; returns (process, url)."""
    port = free_port()
    environment = {
        "PYTHONPATH": str(REPO),
        "MODEL_SERVER_URL": model_server_url,
        "WEB_SECRET_KEY": "a-test-secret-key-for-the-web-ui",
        **env,
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "--no-control-socket",
        "-b", f"127.0.0.1:{port}", "--certfile", str(tls / "web_ui.crt"),
        "--keyfile", str(tls / "web_ui.key"), "web.wsgi:app",
    ]  # fmt: skip
    # Its own process group, so stop_process stops the master and its workers.
    process = start(command, log, environment, cwd=REPO)
    return process, f"https://127.0.0.1:{port}"


def _status_row(page: str, service: str) -> str:
    """The state cell of one service on the status page."""
    found = re.search(rf"<td>{re.escape(service)}</td>\s*<td>([^<]*)</td>", page)
    assert found, page[:2000]
    return found.group(1).strip()


def test_web_ui_over_tls_calls_the_model_server_with_its_key(
    role_tls, gunicorn_factory, mlflow_server, tmp_path
):
    ca = role_tls / "ca.crt"
    _, model_server = _keyed_model_server(role_tls, gunicorn_factory, mlflow_server)
    keyed, keyed_url = _web_ui(
        role_tls, model_server, tmp_path / "web.log",
        PLATFORM_CA_FILE=str(ca), MODEL_SERVER_API_KEY=OPERATOR_KEY,
    )  # fmt: skip
    keyless, keyless_url = _web_ui(
        role_tls, model_server, tmp_path / "web-keyless.log", PLATFORM_CA_FILE=str(ca)
    )
    # Without the setting the UI trusts only the system store: the model server is refused.
    untrusting, untrusting_url = _web_ui(
        role_tls, model_server, tmp_path / "web-untrusting.log", MODEL_SERVER_API_KEY=OPERATOR_KEY
    )
    try:
        wait_http(f"{keyed_url}/health", 120, keyed, verify=str(ca))
        wait_http(f"{keyless_url}/health", 120, keyless, verify=str(ca))
        wait_http(f"{untrusting_url}/health", 120, untrusting, verify=str(ca))
        page = requests.get(f"{keyed_url}/", verify=str(ca), timeout=60)
        assert page.status_code == 200, page.text[:500]
        refused = requests.get(f"{keyless_url}/", verify=str(ca), timeout=60)
        assert refused.status_code == 503 and "401" in refused.text
        unverified = requests.get(f"{untrusting_url}/", verify=str(ca), timeout=60)
        assert unverified.status_code == 503 and "SSLError" in unverified.text
        # The status page's probes and serving charts reach the model server with the CA too.
        status = requests.get(f"{keyed_url}/status", verify=str(ca), timeout=60)
        assert status.status_code == 200
        assert _status_row(status.text, "Model server (live)") == "up (HTTP 200)"
        untrusted_status = requests.get(f"{untrusting_url}/status", verify=str(ca), timeout=60)
        assert _status_row(untrusted_status.text, "Model server (live)") == "down (SSLError)"
    finally:
        stop_process(keyed)
        stop_process(keyless)
        stop_process(untrusting)


def test_pipeline_reload_post_verifies_the_model_server_with_platform_ca_file(
    role_tls, gunicorn_factory, mlflow_server
):
    """notify_model_server (the DAG's last step) over TLS: PLATFORM_CA_FILE, read by
    Settings.from_env, makes the POST verify against the appliance CA; without it the
    system trust store refuses the server and the step only warns."""
    _, url = _keyed_model_server(role_tls, gunicorn_factory, mlflow_server)
    environ = {
        "MODEL_SERVER_URL": url,
        "MODEL_SERVER_RELOAD_TOKEN": TOKEN,
        "MODEL_SERVER_API_KEY": OPERATOR_KEY,
    }
    trusted = Settings.from_env({**environ, "PLATFORM_CA_FILE": str(role_tls / "ca.crt")})
    assert trusted.platform_ca_file == str(role_tls / "ca.crt")
    assert notify_model_server(trusted).startswith("model server answered 200"), trusted
    untrusted = notify_model_server(Settings.from_env(environ))
    assert untrusted.startswith("model server unreachable") and "CERTIFICATE_VERIFY_FAILED" in (
        untrusted
    )
