"""PLATFORM_CA_FILE is for the platform's own services only: the data API is an outside
service, reached with the site's trust (REQUESTS_CA_BUNDLE / the system store), even when
the appliance CA is set. A real TLS server with a certificate from a "site" CA answers as the
data API does when every batch was served; the pipeline's ingest step reaches it."""

from __future__ import annotations

import http.server
import json
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from house_prices.ingest import DataApiError, DataExhausted
from house_prices.pipeline import ingest
from house_prices.settings import Settings


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
             "-subj", f"/CN={name}")  # fmt: skip
    return key, cert


def _server_cert(directory: Path, ca_key: Path, ca_cert: Path) -> tuple[Path, Path]:
    key, csr, cert = directory / "srv.key", directory / "srv.csr", directory / "srv.crt"
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=data-api")  # fmt: skip
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
             "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))  # fmt: skip
    return key, cert


class _Exhausted(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"detail": "Toda la información ya se recolectó"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site_data_api(tmp_path):
    """(url, site CA file, appliance CA file): a TLS data API signed by the site's CA."""
    site_key, site_ca = _ca(tmp_path, "site-ca")
    _, appliance_ca = _ca(tmp_path, "appliance-ca")
    key, cert = _server_cert(tmp_path, site_key, site_ca)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Exhausted)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", site_ca, appliance_ca
    finally:
        server.shutdown()
        server.server_close()


def test_ingest_reaches_the_data_api_with_site_trust_despite_platform_ca_file(
    site_data_api, tmp_path, monkeypatch
):
    url, site_ca, appliance_ca = site_data_api
    # The pod's environment: both CAs set, as the platform sets PLATFORM_CA_FILE.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(site_ca))
    for name, value in {
        "DATA_API_URL": url,
        "DATA_API_RETRIES": "0",
        "HOUSE_PRICES_STORAGE_ROOT": str(tmp_path / "objects"),
        "PLATFORM_CA_FILE": str(appliance_ca),
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.platform_ca_file == str(appliance_ca)
    # The TLS handshake succeeded: the answer (every batch served) reached the client.
    with pytest.raises(DataApiError) as answered:
        ingest(settings, 3, "Wednesday")
    assert "SSLError" not in str(answered.value)
    assert isinstance(answered.value, DataExhausted) or "no batch left" in str(answered.value)
    # And the site's trust is what made it: without it the certificate is refused.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(DataApiError, match="SSLError"):
        ingest(settings, 3, "Wednesday")
