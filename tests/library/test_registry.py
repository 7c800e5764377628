"""The MLflow version check: the original deployment's 3.x client met a 1.28 server."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mlflow
import pytest

from house_prices.registry import RegistryError, check_server_version


def version_server(version: str):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/version" else 404)
            self.end_headers()
            self.wfile.write(version.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_older_major_server_is_refused_with_the_reason():
    server, url = version_server("1.28.0")
    try:
        with pytest.raises(RegistryError, match=r"client 3\.\S+ cannot work with server 1\.28\.0"):
            check_server_version(url)
    finally:
        server.shutdown()


def test_same_major_is_accepted():
    server, url = version_server(mlflow.__version__)
    try:
        assert check_server_version(url) == mlflow.__version__
    finally:
        server.shutdown()


@pytest.mark.integration
def test_real_server_matches_the_client(mlflow_url):
    assert check_server_version(mlflow_url) == mlflow.__version__


def test_unreachable_server_is_named():
    with pytest.raises(RegistryError, match=r"unreachable.*MLFLOW_TRACKING_URI"):
        check_server_version("http://127.0.0.1:9")
