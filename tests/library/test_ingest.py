"""The ingestion client against a real HTTP server that misbehaves on request."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from house_prices import keys
from house_prices.ingest import DataApiClient, DataApiError, DataExhausted, ingest_batch
from house_prices.storage import LocalStore, read_parquet
from tests.library.test_schema import RECORD


class FakeDataApi(BaseHTTPRequestHandler):
    """Answers from a script: a list of (status, body) consumed one per request."""

    script: ClassVar[list[tuple[int, object]]] = []
    seen: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).seen.append(self.path)
        status, body = type(self).script.pop(0) if len(type(self).script) > 1 else self.script[0]
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    FakeDataApi.script, FakeDataApi.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeDataApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield FakeDataApi, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def good(batch=1, records=None):
    return 200, {
        "group_number": 5,
        "day": "Tuesday",
        "batch_number": batch,
        "data": records or [RECORD, {**RECORD, "price": "250000"}],
    }


def client(url, **kwargs):
    return DataApiClient(url, timeout=2, retries=kwargs.pop("retries", 2), backoff=0.01, **kwargs)


def test_uses_query_parameters(api):
    handler, url = api
    handler.script = [good()]
    batch = client(url).fetch(5, "Tuesday")
    assert handler.seen == ["/data?group_number=5&day=Tuesday"]
    assert len(batch.frame) == 2


def test_retries_5xx_then_succeeds(api):
    handler, url = api
    handler.script = [(503, {"detail": "busy"}), (500, "oops"), good()]
    assert client(url).fetch(5, "Tuesday").batch_number == 1
    assert len(handler.seen) == 3


def test_gives_up_after_retries_and_says_so(api):
    handler, url = api
    handler.script = [(502, "bad gateway")]
    with pytest.raises(DataApiError, match=r"answered 502.*gave up after 3 attempts"):
        client(url).fetch(5, "Tuesday")


def test_exhausted_is_recognised(api):
    handler, url = api
    handler.script = [(400, {"detail": "Ya se recolectó toda la información minima necesaria"})]
    with pytest.raises(DataExhausted):
        client(url).fetch(5, "Tuesday")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((400, {"detail": "Número de grupo inválido"}), "refused group 5/Tuesday: Número"),
        ((200, "{not json"), "non-JSON body"),
        (
            (200, {"group_number": 5, "day": "Tuesday", "batch_number": 1, "data": []}),
            "has no records",
        ),
        ((200, {"rows": []}), "does not follow the contract"),
        ((404, {"detail": "Not Found"}), "answered 404"),
    ],
)
def test_bad_answers_are_named(api, answer, message):
    handler, url = api
    handler.script = [answer]
    with pytest.raises(DataApiError, match=message):
        client(url).fetch(5, "Tuesday")


def test_server_down_is_named():
    with pytest.raises(DataApiError, match=r"cannot reach the data API.*DATA_API_URL"):
        client("http://127.0.0.1:9", retries=1).fetch(5, "Tuesday")


def test_unknown_day_is_refused_before_any_call():
    with pytest.raises(DataApiError, match="not one of Monday"):
        client("http://127.0.0.1:9").fetch(5, "Someday")


def test_ingest_writes_once(api, tmp_path):
    handler, url = api
    handler.script = [good(batch=3)]
    store = LocalStore(tmp_path)
    first = ingest_batch(client(url), store, 5, "Tuesday")
    key = keys.raw_key(5, "Tuesday", 3)
    assert (first.key, first.written, first.rows) == (key, True, 2)
    stamp = (tmp_path / key).stat().st_mtime_ns
    second = ingest_batch(client(url), store, 5, "Tuesday")
    assert (second.key, second.written) == (key, False)
    assert (tmp_path / key).stat().st_mtime_ns == stamp
    assert read_parquet(store, key)["zip_code"].tolist() == ["00601", "00601"]


def test_failed_fetch_writes_nothing(api, tmp_path):
    handler, url = api
    handler.script = [
        (200, {"group_number": 5, "day": "Tuesday", "batch_number": 1, "data": [{"price": 1}]})
    ]
    with pytest.raises(DataApiError):
        ingest_batch(client(url), LocalStore(tmp_path), 5, "Tuesday")
    assert list(tmp_path.iterdir()) == []


def test_exhausted_ingest_reports_without_writing(api, tmp_path):
    handler, url = api
    handler.script = [(400, {"detail": "Ya se recolectó toda la información minima necesaria"})]
    result = ingest_batch(client(url), LocalStore(tmp_path), 5, "Tuesday")
    assert result.exhausted and not result.written and result.key is None
