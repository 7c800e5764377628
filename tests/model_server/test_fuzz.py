"""Schemathesis fuzzes the running servers from their own /openapi.json: no 5xx, responses match.

Runs every schemathesis check (server errors, status codes, response schemas, content types,
auth handling, positive/negative data acceptance) against the model server (both dialects) and
the data API emulator, both under gunicorn. The cases are counted from schemathesis's HAR
report, so "covers every operation with at least 1,000 cases" is asserted, not assumed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from testsupport import servers
from testsupport.model_server import TOKEN

pytestmark = pytest.mark.integration

MIN_CASES_IN_TOTAL = 1000
#: Operations without any input have nothing to vary: schemathesis sends them a few times.
MIN_CASES_PER_OPERATION = 1


def operations(document: dict) -> dict[tuple[str, str], re.Pattern]:
    """(METHOD, path template) -> a pattern matching the request paths of that operation."""
    found = {}
    for template, item in document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        for method in item:
            # The document itself is where schemathesis loads the schema from, not an
            # operation it generates cases for (test_routes checks it).
            if method in ("get", "post", "put", "patch", "delete") and template != "/openapi.json":
                found[(method.upper(), template)] = pattern
    return found


def cases_by_operation(har: dict, known: dict[tuple[str, str], re.Pattern]) -> Counter:
    """How many requests schemathesis sent to each documented operation (others: 'unmatched')."""
    counts: Counter = Counter()
    for entry in har["log"]["entries"]:
        method = entry["request"]["method"]
        path = "/" + entry["request"]["url"].split("://", 1)[1].split("/", 1)[1].split("?")[0]
        for (op_method, template), pattern in known.items():
            if op_method == method and pattern.match(path):
                counts[(op_method, template)] += 1
                break
        else:
            counts[("unmatched", path)] += 1
    return counts


def test_operation_matching_uses_path_templates():
    known = operations({"paths": {"/a/{id}": {"get": {}}, "/a": {"post": {}, "parameters": []}}})
    har = {
        "log": {
            "entries": [
                {"request": {"method": "GET", "url": "http://h:1/a/42?x=1"}},
                {"request": {"method": "POST", "url": "http://h:1/a"}},
                {"request": {"method": "GET", "url": "http://h:1/a/4/2"}},
            ]
        }
    }
    counts = cases_by_operation(har, known)
    assert counts == Counter({("GET", "/a/{id}"): 1, ("POST", "/a"): 1, ("unmatched", "/a/4/2"): 1})


def fuzz(url: str, workdir: Path, max_examples: int, *extra: str) -> tuple[dict, Counter, set]:
    """One schemathesis run; returns (HAR, cases per operation, the documented operations)."""
    har_path = workdir / "cases.har"
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json",
        "--checks", "all",
        "--max-examples", str(max_examples),
        "--seed", "20261126",
        "--generation-database", "none",
        "--request-timeout", "30",
        # One worker: two threads hit a CPython 3.11 ast.parse race inside hypothesis
        # ("AST constructor recursion depth mismatch").
        "--workers", "1",
        "--report", "har",
        "--report-har-path", str(har_path),
        "--no-color",
        *extra,
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=workdir, capture_output=True, text=True, timeout=900, check=False
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-6000:]
    document = requests.get(f"{url}/openapi.json", timeout=30).json()
    har = json.loads(har_path.read_text())
    documented = operations(document)
    return har, cases_by_operation(har, documented), set(documented)


def _statuses(har: dict) -> Counter:
    return Counter(entry["response"]["status"] for entry in har["log"]["entries"])


def test_schemathesis_covers_every_operation_with_counted_cases_and_no_5xx(
    gunicorn_factory, mlflow_server, tmp_path
):
    server = gunicorn_factory({"MLFLOW_TRACKING_URI": mlflow_server.url})
    server.wait_ready()
    emulator_dir = tmp_path / "emulator"
    emulator_dir.mkdir()
    port = servers.free_port()
    emulator_url = f"http://127.0.0.1:{port}"
    command = servers.gunicorn_command("data_api_emulator.app:create_app()", port)
    # A long interval keeps every valid /data call inside one batch (cheap, always 200).
    settings = {"DATA_API_EMULATOR_MIN_INTERVAL_SECONDS": "3600"}

    started = time.monotonic()
    model_dir = tmp_path / "model-server"
    model_dir.mkdir()
    model_har, model_cases, model_operations = fuzz(
        server.url, model_dir, 150, "--header", f"Authorization: Bearer {TOKEN}"
    )
    model_seconds = time.monotonic() - started
    with servers.serve(command, f"{emulator_url}/health", emulator_dir / "log", settings):
        started = time.monotonic()
        emulator_har, emulator_cases, emulator_operations = fuzz(emulator_url, emulator_dir, 150)
        emulator_seconds = time.monotonic() - started

    # Both dialects of the model server, and the emulator's four routes (lower bounds: the
    # documents may grow; every documented operation is checked below either way).
    assert len(model_operations) >= 14
    assert len(emulator_operations) >= 4
    for documented, cases in (
        (model_operations, model_cases),
        (emulator_operations, emulator_cases),
    ):
        thin = {op: cases[op] for op in documented if cases[op] < MIN_CASES_PER_OPERATION}
        assert thin == {}, "operations schemathesis did not exercise enough"
    total = sum(model_cases.values()) + sum(emulator_cases.values())
    assert total >= MIN_CASES_IN_TOTAL, (model_cases, emulator_cases)
    statuses = _statuses(model_har) + _statuses(emulator_har)
    assert [code for code in statuses if code >= 500] == [], statuses
    assert "Traceback" not in server.log()
    print(
        f"\nschemathesis: {total} cases ({sum(model_cases.values())} model server in "
        f"{model_seconds:.0f} s, {sum(emulator_cases.values())} emulator in "
        f"{emulator_seconds:.0f} s); statuses {dict(sorted(statuses.items()))}"
    )
    for op, n in sorted((model_cases + emulator_cases).items()):
        print(f"  {n:5d}  {op[0]:<6} {op[1]}")
