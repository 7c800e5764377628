"""The emulator against its own OpenAPI document, with schemathesis (valid and invalid input).

Hypothesis drives the operations directly: schemathesis's pytest plugin does not load under
pytest 9 here (``'Function' object has no attribute '_nodeid'``).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from data_api_emulator.app import create_app
from data_api_emulator.config import EmulatorConfig
from data_api_emulator.openapi import openapi_document

ROUTES = ["/data", "/restart_data_generation", "/health", "/metrics"]


@pytest.fixture(scope="module")
def api_schema() -> schemathesis.schemas.BaseSchema:
    # A long interval keeps every valid /data call inside batch 1, so a 200 is always due.
    config = EmulatorConfig(rows_per_batch=20, groups=(1, 2, 3, 5), min_interval_seconds=3600)
    return schemathesis.openapi.from_wsgi("/openapi.json", create_app(config))


def test_document_covers_every_route(api_schema: schemathesis.schemas.BaseSchema) -> None:
    paths = sorted(op.ok().path for op in api_schema.get_all_operations())
    assert paths == sorted(ROUTES)


@pytest.mark.parametrize(
    ("path", "mode"),
    [(path, GenerationMode.POSITIVE) for path in ROUTES]
    + [(path, GenerationMode.NEGATIVE) for path in ROUTES[:2]],  # the others take no input
)
def test_answers_conform_to_the_document(
    api_schema: schemathesis.schemas.BaseSchema, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path]["GET"]
    seen: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        response = case.call_and_validate()
        seen.append(response.status_code)

    check()
    if mode is GenerationMode.POSITIVE:
        assert set(seen) == {200}
    else:
        # Invalid values get 400; unknown extra parameters are ignored (as FastAPI does), and
        # schemathesis's negative-data check, run by call_and_validate, accepts that.
        assert 400 in seen


def test_document_says_that_batches_overlap() -> None:
    document = openapi_document((1,))
    assert "overlap" in document["info"]["description"]
    assert "repeat_share" in document["components"]["schemas"]["Health"]["properties"]
