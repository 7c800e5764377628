"""The REST reader of MLflow the workers use: the same bundle as the MLflow client, errors that
say what failed, basic auth sent, and no mlflow import in the process that uses it."""

import base64
import http.server
import json
import subprocess
import sys
import threading

import pytest

from house_prices import mlflow_rest, registry, run_documents
from house_prices.mlflow_rest import MlflowRest, MlflowUnavailable
from house_prices.registry_types import RegistryError
from house_prices.settings import Settings
from model_server.config import ServerConfig
from model_server.holder import ModelHolder
from model_server.loader import ReloadError
from model_server.scoring import listings_frame
from testsupport.model_server import LISTING
from testsupport.servers import free_port


def _predict(pipeline, rows):
    """Predictions summed over the trees in one order: with n_jobs=-1 the forest adds its
    trees in the order its threads finish, which changes the last bit."""
    pipeline[-1].set_params(n_jobs=1)
    return [float(p) for p in pipeline.predict(listings_frame(rows))]


def test_the_bundle_over_rest_is_the_clients_bundle(mlflow_server):
    name = mlflow_server.settings.model_name
    client = registry.connect(mlflow_server.url)
    expected = registry.load_bundle(client, name, "2")
    got = mlflow_rest.load_bundle(MlflowRest.from_env(mlflow_server.url, {}), name, "2")
    assert got.version == expected.version
    assert got.metrics == expected.metrics
    assert got.documents == expected.documents
    assert set(got.documents) == set(run_documents.RUN_DOCUMENTS)
    rows = [LISTING, {**LISTING, "house_size": 3100.0, "state": "Ohio"}]
    assert _predict(got.pipeline, rows) == _predict(expected.pipeline, rows)


def test_champion_by_alias_and_none_without_it(mlflow_server):
    reader = MlflowRest.from_env(mlflow_server.url, {})
    name = mlflow_server.settings.model_name
    champion = registry.champion_version(registry.connect(mlflow_server.url), name)
    assert reader.version_by_alias(name) == champion
    assert reader.version_by_alias(name, "no-such-alias") is None
    assert reader.version_by_alias("no-such-model") is None


def test_a_missing_version_is_named(mlflow_server):
    reader = MlflowRest.from_env(mlflow_server.url, {})
    name = mlflow_server.settings.model_name
    with pytest.raises(RegistryError, match=f"model {name} has no version 99 in MLflow at"):
        mlflow_rest.load_bundle(reader, name, "99")


def test_a_missing_document_is_named_with_its_run(mlflow_server):
    reader = MlflowRest.from_env(mlflow_server.url, {})
    run_id = reader.model_version(mlflow_server.settings.model_name, "1").run_id
    with pytest.raises(RegistryError, match=f"run {run_id} has no missing.json"):
        mlflow_rest.load_bundle(
            reader, mlflow_server.settings.model_name, "1", ("lineage.json", "missing.json")
        )


def test_an_unreachable_server_says_so():
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(MlflowUnavailable, match=f"MLflow at {closed}: unreachable"):
        MlflowRest.from_env(closed, {}).version_by_alias("house-price")


class _BasicAuthMlflow(http.server.BaseHTTPRequestHandler):
    """Answers the alias route only to user ``ops`` with password ``s3cret``."""

    expected = "Basic " + base64.b64encode(b"ops:s3cret").decode()

    def do_GET(self):
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps(
            {"model_version": {"name": "m", "version": "3", "run_id": "r", "tags": []}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def auth_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BasicAuthMlflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_basic_auth_comes_from_the_mlflow_variables(auth_server):
    env = {"MLFLOW_TRACKING_USERNAME": "ops", "MLFLOW_TRACKING_PASSWORD": "s3cret"}
    version = MlflowRest.from_env(auth_server, env).version_by_alias("m")
    assert (version.version, version.run_id) == ("3", "r")
    wrong = {**env, "MLFLOW_TRACKING_PASSWORD": "nope"}
    with pytest.raises(MlflowUnavailable, match=r"refused the credentials \(401"):
        MlflowRest.from_env(auth_server, wrong).version_by_alias("m")


def test_a_worker_loads_a_version_without_mlflow_or_the_unused_modules(mlflow_server):
    """What a gunicorn worker imports (wsgi blocks the unused modules first), and that the
    pipeline it loads predicts, on pandas without pyarrow, exactly what the MLflow client's
    pipeline predicts."""
    name = mlflow_server.settings.model_name
    rows = [LISTING, {**LISTING, "house_size": 3100.0, "state": "Ohio"}]
    script = (
        "import json, sys\n"
        "from model_server.unused_modules import keep_out\n"
        "keep_out()\n"
        "from house_prices.mlflow_rest import MlflowRest\n"
        "from model_server.loader import load_version\n"
        f"loaded = load_version(MlflowRest({mlflow_server.url!r}), {name!r}, '1')\n"
        "from model_server.scoring import listings_frame\n"
        f"prices = loaded.scorer.pipeline.predict(listings_frame({rows!r}))\n"  # n_jobs=1
        "imported = {m.split('.')[0] for m in sys.modules if sys.modules[m] is not None}\n"
        "print(json.dumps({'prices': [float(p) for p in prices], 'imported': sorted(imported)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    worker = json.loads(done.stdout.strip().splitlines()[-1])
    unwanted = {"mlflow", "fastapi", "starlette", "opentelemetry", "pydantic", "matplotlib"}
    assert not unwanted.intersection(worker["imported"])
    assert not {"pyarrow", "pytest", "_pytest", "rich"}.intersection(worker["imported"])
    assert {"sklearn", "skops", "pandas"} <= set(worker["imported"])
    pipeline = registry.load_bundle(registry.connect(mlflow_server.url), name, "1").pipeline
    assert worker["prices"] == _predict(pipeline, rows)


class _OldMlflow(http.server.BaseHTTPRequestHandler):
    """An MLflow 1.x server that still answers the alias route (a 2.x would too)."""

    def do_GET(self):
        if self.path == "/version":
            body = b"1.28.0"
        else:
            version = {"name": "house-price", "version": "7", "run_id": "r", "tags": []}
            body = json.dumps({"model_version": version}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_model_server_refuses_a_server_of_another_major_by_name(tmp_path):
    """The seed's failure: an MLflow 3 client against a 1.x server, said plainly."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OldMlflow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        config = ServerConfig(settings=Settings(mlflow_tracking_uri=url), state_dir=tmp_path)
        holder = ModelHolder(config)
        with pytest.raises(ReloadError, match=r"client 3\.\S+ cannot work with server 1\.28\.0"):
            holder.reload()
        assert "Pin one version for both" in holder.last_error
        assert holder.current is None
    finally:
        server.shutdown()
        server.server_close()
