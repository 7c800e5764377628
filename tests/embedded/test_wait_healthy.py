"""The embedded up's readiness wait: a server of several workers counts as ready only after
the wanted number of ready answers in a row."""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "embedded"))
import supervised  # noqa: E402 (embedded/ is a directory of scripts, not a package)


def test_one_unready_worker_restarts_the_count(tmp_path, monkeypatch):
    # A loaded worker answers first; the second, unloaded, answers once in between.
    statuses = [200, 200, 503] + [200] * 8
    answered = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status = statuses[min(len(answered), len(statuses) - 1)]
            answered.append(status)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(supervised.time, "sleep", lambda seconds: None)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ready"
        supervised.wait_healthy("model-server", url, tmp_path, timeout=30, in_a_row=8)
    finally:
        server.shutdown()
    assert answered == statuses  # not done before the eighth 200 after the 503
