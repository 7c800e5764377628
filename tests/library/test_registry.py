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


class _Versions:
    """A client whose version search fails with ``error``, or finds ``found``."""

    def __init__(self, error=None, found=()):
        self.error, self.found = error, found

    def search_model_versions(self, query):
        if self.error is not None:
            raise self.error
        return list(self.found)

    def get_model_version(self, name, version):
        from types import SimpleNamespace

        return SimpleNamespace(version=version, run_id=f"run-{version}", tags={})


def test_a_failed_fingerprint_search_says_what_failed_instead_of_not_found():
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, RESOURCE_DOES_NOT_EXIST

    from house_prices.registry import find_version_by_fingerprint

    broken = _Versions(MlflowException("database is locked", error_code=INTERNAL_ERROR))
    with pytest.raises(RegistryError, match="cannot search versions of m by data fingerprint f1"):
        find_version_by_fingerprint(broken, "m", "f1")
    missing = _Versions(MlflowException("no model m", error_code=RESOURCE_DOES_NOT_EXIST))
    assert find_version_by_fingerprint(missing, "m", "f1") is None


def test_the_newest_version_with_the_fingerprint_is_found():
    from types import SimpleNamespace

    from house_prices.registry import find_version_by_fingerprint

    found = [SimpleNamespace(version=v) for v in ("2", "10", "9")]
    version = find_version_by_fingerprint(_Versions(found=found), "m", "f1")
    assert (version.version, version.run_id) == ("10", "run-10")
    assert find_version_by_fingerprint(_Versions(), "m", "f1") is None
