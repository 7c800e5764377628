"""The embedded platform's secure mode (``APPLIANCE_SECURE=on``): TLS and API keys for real.

These tests cover the local CA (made once, private, reused, renewed before expiry) and the
setting. The whole ``appliance up`` in secure mode runs in test_no_outbound_calls_traced.py
(one ``up`` for both): the pipeline's run ends with a champion, the model server wants keys
and TLS, the web UI serves TLS with a Secure session cookie.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APPLIANCE = REPO / "embedded" / "appliance.py"
sys.path.insert(0, str(REPO / "embedded"))
import local_tls  # noqa: E402 (embedded/ is a directory of scripts, not a package)
import platform_env  # noqa: E402
import services  # noqa: E402


def test_the_local_ca_is_made_once_private_and_reused(tmp_path):
    paths = local_tls.ensure_tls(tmp_path)
    assert (tmp_path / "tls").stat().st_mode & 0o777 == 0o700
    for name in ("ca.key", "server.key"):
        assert (tmp_path / "tls" / name).stat().st_mode & 0o777 == 0o600
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(paths["ca"]), str(paths["cert"])],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    first = {name: path.read_bytes() for name, path in paths.items()}
    again = local_tls.ensure_tls(tmp_path)
    assert {name: path.read_bytes() for name, path in again.items()} == first


def test_a_certificate_expiring_within_the_window_is_renewed(tmp_path):
    paths = local_tls.ensure_tls(tmp_path)
    ca_key = local_tls._key(tmp_path / "tls" / "ca.key")
    ca = local_tls.x509.load_pem_x509_certificate(paths["ca"].read_bytes())
    server_key = local_tls._key(paths["key"])
    short = local_tls._issue(
        server_key, ca.subject, ca_key, ca.subject, local_tls.RENEW_DAYS - 1, ca=False
    )
    paths["cert"].write_bytes(short.public_bytes(local_tls.serialization.Encoding.PEM))
    local_tls.ensure_tls(tmp_path)
    renewed = local_tls.x509.load_pem_x509_certificate(paths["cert"].read_bytes())
    left = renewed.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert left > dt.timedelta(days=local_tls.CERT_DAYS - 1)
    assert paths["ca"].read_bytes() == ca.public_bytes(local_tls.serialization.Encoding.PEM)


def test_secure_mode_is_one_setting_and_off_by_default():
    assert services.secure({}) is False
    assert services.urls({})["model_server"].startswith("http://")
    on = {"APPLIANCE_SECURE": "on"}
    assert services.urls(on)["model_server"].startswith("https://")
    assert services.urls(on)["web_ui"].startswith("https://")
    assert services.urls(on)["mlflow"].startswith("http://")  # loopback-only helpers stay plain
    with pytest.raises(SystemExit, match="APPLIANCE_SECURE='maybe': give on or off"):
        services.secure({"APPLIANCE_SECURE": "maybe"})


def test_secure_environment_turns_keys_and_tls_on(tmp_path):
    secrets = platform_env.ensure_secrets(tmp_path)
    tls = local_tls.ensure_tls(tmp_path)
    plain = platform_env.environment(tmp_path, secrets, services.urls({}), "/usr/bin")
    assert "MODEL_SERVER_AUTH" not in plain and "MODEL_SERVER_TLS_CERT" not in plain
    env = platform_env.environment(
        tmp_path, secrets, services.urls({"APPLIANCE_SECURE": "on"}), "/usr/bin", tls
    )
    assert env["MODEL_SERVER_AUTH"] == "on"
    assert env["MODEL_SERVER_API_KEYS"] == (
        f"platform:operator:{secrets['MODEL_SERVER_API_KEY']},"
        f"scripts:client:{secrets['MODEL_SERVER_SCRIPTS_KEY']}"
    )
    assert env["PLATFORM_CA_FILE"] == str(tls["ca"])
    assert env["MODEL_SERVER_BIND"] == services.urls({})["model_server"].split("://")[1]
