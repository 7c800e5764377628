from pathlib import Path

import pytest

from house_prices.settings import ENVIRONMENT, Settings, SettingsError


def test_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.storage_backend == "local"


def test_reads_and_types_variables():
    settings = Settings.from_env(
        {"DATA_API_RETRIES": "2", "DATA_API_TIMEOUT": "1.5", "HOUSE_PRICES_STORAGE_ROOT": "/x"}
    )
    assert settings.data_api_retries == 2
    assert settings.data_api_timeout == 1.5
    assert settings.storage_root == Path("/x")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DATA_API_RETRIES": "many"}, "DATA_API_RETRIES='many' is not valid"),
        ({"HOUSE_PRICES_STORAGE": "ftp"}, "use 'local' or 's3'"),
        ({"HOUSE_PRICES_STORAGE": "s3"}, "needs HOUSE_PRICES_S3_ENDPOINT"),
        ({"DATA_API_TIMEOUT": "0"}, "DATA_API_TIMEOUT > 0"),
    ],
)
def test_bad_values_name_the_variable(environ, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_every_field_has_one_variable():
    import dataclasses

    assert {f.name for f in dataclasses.fields(Settings)} == set(ENVIRONMENT)
