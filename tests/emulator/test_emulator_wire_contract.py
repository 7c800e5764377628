"""The emulator's copy of the data API's wire contract agrees with the pipeline's schema.

The emulator stands for an external API and keeps its own copy (``data_api_emulator.wire``);
these tests are what ties the two copies together.
"""

from __future__ import annotations

from data_api_emulator import wire
from data_api_emulator.app import create_app
from data_api_emulator.config import EmulatorConfig
from data_api_emulator.openapi import openapi_document
from house_prices import features, schema, settings


def test_the_record_columns_envelope_statuses_and_days_agree():
    assert wire.COLUMNS == schema.RAW_COLUMNS
    assert wire.ENVELOPE == schema.ENVELOPE_KEYS
    assert wire.STATUSES == features.STATUSES
    assert wire.DAYS == settings.DAYS


def test_the_emulators_openapi_record_holds_every_column_the_pipeline_requires():
    schemas = openapi_document((1,))["components"]["schemas"]
    record = schemas["Record"]
    assert tuple(record["properties"]) == schema.RAW_COLUMNS
    assert set(schema.REQUIRED_COLUMNS) <= set(record["required"])
    assert tuple(schemas["Batch"]["required"]) == schema.ENVELOPE_KEYS


def test_an_answer_of_the_emulator_passes_the_pipelines_validation():
    config = EmulatorConfig(rows_per_batch=30, groups=(5,), min_interval_seconds=0)
    client = create_app(config).test_client()
    response = client.get("/data?group_number=5&day=Tuesday")
    assert response.status_code == 200
    batch = schema.parse_response(response.get_json(), group_number=5, day="Tuesday")
    assert tuple(batch.frame.columns) == schema.RAW_COLUMNS
    assert len(batch.frame) == 30
    statuses = set(batch.frame["status"].dropna())
    assert statuses and statuses <= set(features.STATUSES) | {""}
