"""Real gunicorn against the real MLflow server: durability, reloads under load, MLflow down."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.model_server.conftest import post
from testsupport.model_server import LISTING, TOKEN
from testsupport.servers import free_port, wait_for

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def metric_total(text: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


def test_serves_logs_everything_and_flushes_on_graceful_stop(gunicorn_factory, mlflow_server):
    server = gunicorn_factory({"MLFLOW_TRACKING_URI": mlflow_server.url})
    server.wait_ready()
    with ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda _: post(server.url, "/predict", {"listing": LISTING}), range(120))
        )
    assert {response.status_code for response in responses} == {200}
    request_ids = {response.json()["request_id"] for response in responses}
    assert len(request_ids) == 120

    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    # Both workers' counts, aggregated through PROMETHEUS_MULTIPROC_DIR.
    assert metric_total(metrics, 'model_server_predictions_total{model_name="house-price"') == 120
    assert (
        metric_total(metrics, 'model_server_requests_total{endpoint="/predict",method="POST"')
        == 120
    )

    assert server.terminate() == 0
    with sqlite3.connect(server.state_dir / "predictions.db") as db:
        logged = {row[0] for row in db.execute("select request_id from predictions")}
    assert request_ids <= logged
    assert "Traceback" not in server.log()


def test_reloads_mid_load_fail_no_request(gunicorn_factory, champion):
    server = gunicorn_factory(
        {"MLFLOW_TRACKING_URI": champion.url, "MODEL_SERVER_POLL_SECONDS": "1"}
    )
    server.wait_ready()
    stop = threading.Event()
    failures: list[str] = []
    versions: dict[str, int] = {}
    lock = threading.Lock()

    def client(index: int) -> int:
        session = requests.Session()
        sent = 0
        while not stop.is_set():
            path = "/explain" if index == 0 and sent % 3 == 0 else "/predict"
            try:
                response = session.post(
                    f"{server.url}{path}", json={"listing": LISTING}, timeout=30
                )
                version = response.json()["model"]["version"]
                ok = response.status_code == 200
            except (requests.RequestException, ValueError, KeyError) as exc:
                ok, version = False, f"{type(exc).__name__}: {exc}"
            with lock:
                if ok:
                    versions[version] = versions.get(version, 0) + 1
                else:
                    failures.append(f"{path}: {version}")
            sent += 1
        return sent

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(client, index) for index in range(4)]
        time.sleep(1.0)
        for version in ("2", "1", "2", "1"):
            champion.set_champion(version)
            response = requests.post(f"{server.url}/reload", headers=AUTH, timeout=60)
            assert response.status_code == 200, response.text
            assert response.json()["model"]["version"] == version
            time.sleep(2.0)  # the sibling worker follows through the reload marker
        stop.set()
        sent = sum(future.result() for future in futures)

    assert failures == []
    assert sent > 50
    assert versions.get("1", 0) > 0 and versions.get("2", 0) > 0
    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    assert metric_total(metrics, 'model_server_reloads_total{result="success"') >= 4
    assert metric_total(metrics, 'model_server_reloads_total{result="failure"') == 0


class _Forward(socketserver.ThreadingTCPServer):
    """A loopback TCP forwarder: lets a test bring 'MLflow' up on a port the server polls."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, target: tuple[str, int]):
        self.target = target
        super().__init__(("127.0.0.1", port), _Pipe)


class _Pipe(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        upstream = socket.create_connection(self.server.target)
        pumps = [
            threading.Thread(target=_pump, args=(self.request, upstream), daemon=True),
            threading.Thread(target=_pump, args=(upstream, self.request), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        for pump in pumps:
            pump.join()
        upstream.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def test_starts_with_mlflow_down_and_becomes_ready_when_it_appears(gunicorn_factory, mlflow_server):
    port = free_port()
    server = gunicorn_factory(
        {
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}",
            "MODEL_SERVER_RETRY_MAX_SECONDS": "2",
        }
    )
    server.wait_live()
    for _ in range(3):
        ready = requests.get(f"{server.url}/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert "unreachable" in ready.json()["reason"]
        predict = post(server.url, "/predict", {"listing": LISTING})
        assert predict.status_code == 503
        assert predict.json()["error"] == "not_ready"
        time.sleep(2)
    assert server.process.poll() is None  # no crash loop: the master never exited
    assert "Worker failed to boot" not in server.log()
    assert server.log().count("retrying in") >= 2
    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    assert (
        metric_total(metrics, 'model_server_reloads_total{result="failure",trigger="startup"') >= 2
    )

    target = mlflow_server.url.rsplit(":", 1)
    forward = _Forward(port, (target[0].removeprefix("http://"), int(target[1])))
    threading.Thread(target=forward.serve_forever, daemon=True).start()
    try:
        wait_for(lambda: requests.get(f"{server.url}/ready", timeout=10).status_code == 200, 90)
        # Each of the two workers retries on its own: the other may load a moment later.
        wait_for(lambda: post(server.url, "/predict", {"listing": LISTING}).status_code == 200, 60)
    finally:
        server.terminate()
        forward.shutdown()
        forward.server_close()
