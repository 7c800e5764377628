import dataclasses
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


def test_retention_reads_its_table_and_derives_the_prediction_log(tmp_path):
    import dataclasses

    from house_prices.retention import ENVIRONMENT as RETENTION
    from house_prices.retention import RetentionSettings

    assert {f.name for f in dataclasses.fields(RetentionSettings)} == set(RETENTION)
    assert RetentionSettings.from_env({}).predictions_url == ""
    from_state = RetentionSettings.from_env({"MODEL_SERVER_STATE_DIR": str(tmp_path)})
    assert from_state.predictions_url == f"sqlite:///{tmp_path.resolve()}/predictions.db"
    both = RetentionSettings.from_env(
        {"MODEL_SERVER_STATE_DIR": str(tmp_path), "MODEL_SERVER_DATABASE_URL": "postgresql://x"}
    )
    assert both.predictions_url == "postgresql://x"
    with pytest.raises(SettingsError, match="HOUSE_PRICES_RETAIN_AIRFLOW_DAYS=-2: days cannot"):
        RetentionSettings.from_env({"HOUSE_PRICES_RETAIN_AIRFLOW_DAYS": "-2"})


def test_the_shared_reader_parses_by_field_type_and_names_the_variable():
    from dataclasses import dataclass

    from house_prices import environment

    @dataclass
    class Example:
        flag: bool = False
        count: int = 1
        where: Path = Path(".")

    table = {
        "flag": ("EXAMPLE_FLAG", "a switch"),
        "count": ("EXAMPLE_COUNT", "a count"),
        "where": ("EXAMPLE_WHERE", "a place"),
    }
    values = environment.read(
        Example, table, {"EXAMPLE_FLAG": "1", "EXAMPLE_COUNT": "", "EXAMPLE_WHERE": "/tmp"}
    )
    assert values == {"flag": True, "where": Path("/tmp")}
    assert environment.read(Example, table, {"EXAMPLE_FLAG": "0"}) == {"flag": False}
    with pytest.raises(SettingsError, match=r"EXAMPLE_FLAG='maybe' is not valid \(a switch\)"):
        environment.read(Example, table, {"EXAMPLE_FLAG": "maybe"})


def test_model_server_process_settings(tmp_path):
    from model_server.config import ProcessConfig

    config = ProcessConfig.from_env({"MODEL_SERVER_STATE_DIR": str(tmp_path)})
    assert (config.workers, config.threads, config.allow_matplotlib) == (2, 4, False)
    assert config.metrics_dir == tmp_path.resolve() / "prometheus"
    shared = ProcessConfig.from_env({"PROMETHEUS_MULTIPROC_DIR": "/m", "MODEL_SERVER_WORKERS": "3"})
    assert (shared.metrics_dir, shared.workers) == (Path("/m"), 3)
    assert ProcessConfig.from_env({"MODEL_SERVER_ALLOW_MATPLOTLIB": "1"}).allow_matplotlib
    with pytest.raises(SettingsError, match="MODEL_SERVER_THREADS='four' is not valid"):
        ProcessConfig.from_env({"MODEL_SERVER_THREADS": "four"})
    with pytest.raises(SettingsError, match="MODEL_SERVER_WORKERS and MODEL_SERVER_THREADS"):
        ProcessConfig.from_env({"MODEL_SERVER_WORKERS": "0"})


def test_model_server_settings_read_their_table(tmp_path):
    from model_server.config import ServerConfig

    config = ServerConfig.from_env(
        {
            "MODEL_SERVER_MAX_BATCH": "5",
            "MODEL_SERVER_STATE_DIR": str(tmp_path),
            "HOUSE_PRICES_MODEL_NAME": "m",
        }
    )
    assert (config.max_batch, config.state_dir, config.settings.model_name) == (5, tmp_path, "m")
    assert config.database_url == f"sqlite:///{tmp_path.resolve()}/predictions.db"
    with pytest.raises(SettingsError, match="MODEL_SERVER_POLL_SECONDS='soon' is not valid"):
        ServerConfig.from_env({"MODEL_SERVER_POLL_SECONDS": "soon"})


def test_web_settings_read_their_table():
    from web.config import ENVIRONMENT as WEB
    from web.config import WebConfig

    config = WebConfig.from_env(
        {
            "MODEL_SERVER_URL": "http://server:8800",
            "HOUSE_PRICES_MODEL_NAME": "renamed",
            "WEB_MODEL_SERVER_URL": "http://alias-no-runtime-sets:1",
        }
    )
    assert (config.model_server_url, config.model_name) == ("http://server:8800", "renamed")
    assert config.secret_key and config.secret_key != WebConfig.from_env({}).secret_key
    assert WebConfig.from_env({"WEB_SECRET_KEY": "fixed"}).secret_key == "fixed"
    assert set(WEB) == {f.name for f in dataclasses.fields(WebConfig)} - {"timeout"}
