"""Emulator settings: defaults, DATA_API_EMULATOR_* variables and their validation messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_api_emulator.__main__ import main
from data_api_emulator.config import (
    ConfigError,
    DirtConfig,
    DriftConfig,
    EmulatorConfig,
    ServerSettings,
    env_variable_names,
    parse_groups,
)


def test_defaults_match_the_original_server() -> None:
    config = EmulatorConfig()
    assert config.groups == tuple(range(1, 11))
    assert config.min_interval_seconds == 300
    assert config.batches_per_day * config.rows_per_batch == 361_460
    assert config.mode == "generator"
    assert config.repeat_share == 0.2  # batches of a day overlap, as on the real server


def test_from_env_reads_every_kind_of_value(tmp_path: Path) -> None:
    csv = tmp_path / "listings.csv"
    csv.write_text("x\n")
    config = EmulatorConfig.from_env(
        {
            "DATA_API_EMULATOR_SEED": "7",
            "DATA_API_EMULATOR_GROUPS": "1-3, 8",
            "DATA_API_EMULATOR_BATCHES_PER_DAY": "4",
            "DATA_API_EMULATOR_ROWS_PER_BATCH": "500",
            "DATA_API_EMULATOR_MIN_INTERVAL_SECONDS": "0.5",
            "DATA_API_EMULATOR_CSV_PATH": str(csv),
            "DATA_API_EMULATOR_CACHE_BATCHES": "0",
            "DATA_API_EMULATOR_REPEAT_SHARE": "0.35",
            "DATA_API_EMULATOR_DRIFT_PRICE_PER_BATCH": "0.03",
            "DATA_API_EMULATOR_DIRT_DUPLICATE_ROWS": "0.2",
            "DATA_API_EMULATOR_PORT": "9000",  # a server setting: accepted, not used here
            "OTHER_VARIABLE": "ignored",
        }
    )
    assert config.seed == 7
    assert config.groups == (1, 2, 3, 8)
    assert (config.batches_per_day, config.rows_per_batch, config.cache_batches) == (4, 500, 0)
    assert config.min_interval_seconds == 0.5
    assert config.repeat_share == 0.35
    assert config.csv_path == csv and config.mode == "csv"
    assert config.drift.price_per_batch == 0.03
    assert config.drift.price_per_day == DriftConfig().price_per_day
    assert config.dirt.duplicate_rows == 0.2
    assert config.dirt.missing_bed == DirtConfig().missing_bed


def test_overrides_win_over_the_environment() -> None:
    config = EmulatorConfig.from_env({"DATA_API_EMULATOR_SEED": "7"}, seed=9)
    assert config.seed == 9


def test_blank_variables_keep_defaults() -> None:
    assert EmulatorConfig.from_env({"DATA_API_EMULATOR_SEED": " "}).seed == EmulatorConfig().seed


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATA_API_EMULATOR_SEEDS": "1"}, "unknown variable.*DATA_API_EMULATOR_SEEDS"),
        (
            {"DATA_API_EMULATOR_REPEAT_RATE": "0.1"},
            "unknown variable.*DATA_API_EMULATOR_REPEAT_RATE; known: .*REPEAT_SHARE",
        ),
        ({"DATA_API_EMULATOR_REPEAT_SHARE": "0.95"}, "repeat_share must be between 0 and 0.9,"),
        ({"DATA_API_EMULATOR_REPEAT_SHARE": "-0.1"}, "repeat_share must be between 0 and 0.9,"),
        ({"DATA_API_EMULATOR_REPEAT_SHARE": "a fifth"}, "REPEAT_SHARE='a fifth': not a number"),
        ({"DATA_API_EMULATOR_REPEAT_SHARE": "nan"}, "REPEAT_SHARE='nan': not a finite number"),
        ({"DATA_API_EMULATOR_SEED": "abc"}, "DATA_API_EMULATOR_SEED='abc': not an integer"),
        ({"DATA_API_EMULATOR_SEED": "-1"}, "seed must be between 0"),
        ({"DATA_API_EMULATOR_GROUPS": "1-x"}, "DATA_API_EMULATOR_GROUPS.*1-10"),
        ({"DATA_API_EMULATOR_GROUPS": "5-1"}, "ends before it starts"),
        ({"DATA_API_EMULATOR_BATCHES_PER_DAY": "0"}, "batches_per_day must be between 1"),
        ({"DATA_API_EMULATOR_ROWS_PER_BATCH": "2.5"}, "ROWS_PER_BATCH='2.5': not an integer"),
        ({"DATA_API_EMULATOR_MIN_INTERVAL_SECONDS": "-3"}, "min_interval_seconds must be"),
        ({"DATA_API_EMULATOR_MIN_INTERVAL_SECONDS": "inf"}, "not a finite number"),
        ({"DATA_API_EMULATOR_CSV_PATH": "/nonexistent/x.csv"}, "csv_path.*not a readable file"),
        ({"DATA_API_EMULATOR_DIRT_MISSING_BED": "1.5"}, "dirt missing_bed must be between 0"),
        ({"DATA_API_EMULATOR_DIRT_MISSING_BED": "lots"}, "MISSING_BED='lots': not a number"),
        ({"DATA_API_EMULATOR_DRIFT_PRICE_PER_DAY": "3"}, "drift price_per_day must be between"),
    ],
)
def test_from_env_explains_bad_values(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EmulatorConfig.from_env(env)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"groups": ()}, "groups must not be empty"),
        ({"groups": (1, 1)}, "must not repeat"),
        ({"groups": (1, "2")}, "each group number must be an integer"),
        ({"seed": True}, "seed must be an integer"),
        ({"rows_per_batch": 0}, "rows_per_batch must be between 1"),
        ({"min_interval_seconds": float("nan")}, "min_interval_seconds"),
        ({"drift": {"price_per_batch": 0.1}}, "drift must be a DriftConfig"),
        ({"repeat_share": 0.91}, "repeat_share must be between 0 and 0.9, got 0.91"),
        ({"repeat_share": True}, "repeat_share must be a number"),
        ({"repeat_share": float("nan")}, "repeat_share must be a number"),
    ],
)
def test_constructor_validates(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        EmulatorConfig(**kwargs)


def test_groups_are_sorted() -> None:
    assert EmulatorConfig(groups=(3, 1, 2)).groups == (1, 2, 3)


@pytest.mark.parametrize(
    ("text", "groups"),
    [("1-10", tuple(range(1, 11))), ("5", (5,)), ("1,3,7-9", (1, 3, 7, 8, 9)), ("2, 2", (2,))],
)
def test_parse_groups(text: str, groups: tuple[int, ...]) -> None:
    assert parse_groups(text) == groups


def test_dirt_and_drift_rates_are_checked() -> None:
    with pytest.raises(ConfigError, match="dirt zip_as_number must be between 0 and 1"):
        DirtConfig(zip_as_number=-0.1)
    with pytest.raises(ConfigError, match="drift size_per_batch must be a number"):
        DriftConfig(size_per_batch="0.1")  # type: ignore[arg-type]
    assert all(v == 0 for v in vars(DirtConfig.clean()).values())


def test_every_variable_is_listed_and_to_dict_is_json_ready() -> None:
    names = env_variable_names()
    assert "DATA_API_EMULATOR_DIRT_MISSING_PREV_SOLD_DATE" in names
    assert "DATA_API_EMULATOR_DRIFT_SIZE_PER_BATCH" in names
    assert "DATA_API_EMULATOR_HOST" in names
    data = EmulatorConfig().to_dict()
    assert data["groups"] == list(range(1, 11)) and data["csv_path"] is None
    assert data["dirt"]["duplicate_rows"] == DirtConfig().duplicate_rows
    assert data["repeat_share"] == 0.2
    assert "DATA_API_EMULATOR_REPEAT_SHARE" in names


def test_repeat_share_bounds_are_allowed() -> None:
    assert EmulatorConfig(repeat_share=0).repeat_share == 0
    assert EmulatorConfig(repeat_share=0.9).repeat_share == 0.9


def test_cli_option_sets_the_repeat_share(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in env_variable_names():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_API_EMULATOR_REPEAT_SHARE", "0.5")
    assert main(["--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["repeat_share"] == 0.5
    assert main(["--print-config", "--repeat-share", "0"]) == 0  # the option wins
    assert json.loads(capsys.readouterr().out)["repeat_share"] == 0
    with pytest.raises(SystemExit) as exit_info:
        main(["--print-config", "--repeat-share", "0.95"])
    assert exit_info.value.code == 2
    assert "--repeat-share: '0.95' is not between 0 and 0.9" in capsys.readouterr().err


def test_the_docs_list_every_variable() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "data-api-emulator.md"
    text = docs.read_text(encoding="utf-8")
    missing = [name for name in env_variable_names() if f"`{name}`" not in text]
    assert not missing, f"document these in {docs}: {missing}"


def test_server_settings_come_from_one_table(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServerSettings.from_env({}) == ServerSettings()
    settings = ServerSettings.from_env(
        {"DATA_API_EMULATOR_PORT": " 9001 ", "DATA_API_EMULATOR_LOG_LEVEL": "DEBUG"}
    )
    assert (settings.port, settings.log_level, settings.threads) == (9001, "debug", 4)
    with pytest.raises(ConfigError, match="DATA_API_EMULATOR_THREADS='0': 0 is not between 1"):
        ServerSettings.from_env({"DATA_API_EMULATOR_THREADS": "0"})
    with pytest.raises(ConfigError, match="LOG_LEVEL='loud': 'loud' is not one of debug"):
        ServerSettings.from_env({"DATA_API_EMULATOR_LOG_LEVEL": "loud"})
    with pytest.raises(ConfigError, match="port"):
        ServerSettings(port=0)


def test_the_options_default_to_the_server_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from data_api_emulator.__main__ import _parser

    monkeypatch.setenv("DATA_API_EMULATOR_PORT", "9123")
    monkeypatch.setenv("DATA_API_EMULATOR_HOST", "0.0.0.0")
    args = _parser().parse_args([])
    assert (args.port, args.host, args.threads, args.log_level) == (9123, "0.0.0.0", 4, "info")
    assert _parser().parse_args(["--port", "8000"]).port == 8000  # the option wins
