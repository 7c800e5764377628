"""Typed configuration of the data API emulator, from code or ``DATA_API_EMULATOR_*`` variables."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_PREFIX",
    "LOG_LEVELS",
    "MAX_REPEAT_SHARE",
    "SERVER_ENVIRONMENT",
    "ConfigError",
    "DirtConfig",
    "DriftConfig",
    "EmulatorConfig",
    "ServerSettings",
    "env_variable_names",
    "int_between",
    "parse_groups",
]

ENV_PREFIX = "DATA_API_EMULATOR_"

LOG_LEVELS = ("debug", "info", "warning", "error")

_MAX_ROWS_PER_BATCH = 2_000_000
_MAX_BATCHES_PER_DAY = 1_000
#: Above this share a batch would be mostly old listings and fresh rows would run short.
MAX_REPEAT_SHARE = 0.9


class ConfigError(ValueError):
    """A configuration value is invalid; the message says which one and what is accepted."""


def _check_rate(name: str, value: float) -> None:
    _check_share(name, value, 1.0)


def _check_share(name: str, value: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigError(f"{name} must be a number between 0 and {high:g}, got {value!r}")
    if not 0.0 <= value <= high:
        raise ConfigError(f"{name} must be between 0 and {high:g}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class DriftConfig:
    """How the generated data moves between batches and days (0 everywhere = no drift).

    Multipliers compound: batch ``b`` (1-based) of day index ``d`` (Monday = 0) has prices
    multiplied by ``(1 + price_per_batch) ** (b - 1) * (1 + price_per_day) ** d`` and house
    sizes by ``(1 + size_per_batch) ** (b - 1)``.
    """

    #: relative price change from one batch to the next within a day
    price_per_batch: float = 0.01
    #: relative price change from one weekday to the next
    price_per_day: float = 0.02
    #: relative house-size change from one batch to the next
    size_per_batch: float = 0.005

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
                raise ConfigError(f"drift {f.name} must be a number, got {value!r}")
            if not -0.5 <= value <= 1.0:
                raise ConfigError(
                    f"drift {f.name} must be between -0.5 and 1.0 (a relative change per step), "
                    f"got {value!r}"
                )


@dataclass(frozen=True, kw_only=True)
class DirtConfig:
    """Rates of the dirt the real API sends (all fractions of rows, 0 = clean).

    Defaults follow the public realtor.com listing data: about a fifth to a quarter of
    ``bed``/``bath``/``house_size`` and a third of ``prev_sold_date`` are missing.
    """

    missing_bed: float = 0.216
    missing_bath: float = 0.23
    missing_acre_lot: float = 0.146
    missing_house_size: float = 0.255
    missing_brokered_by: float = 0.002
    missing_prev_sold_date: float = 0.33
    missing_street: float = 0.005
    missing_price: float = 0.0007
    missing_city: float = 0.0006
    missing_zip_code: float = 0.0003
    #: share of missing ``prev_sold_date`` values sent as ``""`` instead of ``null``
    blank_dates: float = 0.1
    #: rows whose numeric fields (price, bed, bath, acre_lot, house_size) arrive as strings
    numbers_as_strings: float = 0.02
    #: rows whose ``zip_code`` arrives as a JSON number (leading zeros lost)
    zip_as_number: float = 0.05
    #: rows replaced by an exact copy of another row of the same batch
    duplicate_rows: float = 0.01
    #: rows with ``house_size`` or ``acre_lot`` set to 0
    zero_sizes: float = 0.002
    #: rows with an absurd ``house_size`` (1-60 or over a million sq ft) or ``acre_lot``
    absurd_sizes: float = 0.001
    #: rows with an extreme price (under $1,000 or over $50 million)
    extreme_prices: float = 0.001

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_rate(f"dirt {f.name}", getattr(self, f.name))

    @classmethod
    def clean(cls) -> DirtConfig:
        """A configuration with every rate at 0."""
        return cls(**{f.name: 0.0 for f in dataclasses.fields(cls)})


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """Everything the emulator needs; validated on construction."""

    #: base seed: the data of (group, day, batch) is a pure function of it
    seed: int = 20251125
    #: valid group numbers (the original server accepted 1-10)
    groups: tuple[int, ...] = tuple(range(1, 11))
    #: batches handed out per group and day before the API answers "exhausted"
    batches_per_day: int = 10
    #: rows in one batch (10 x 36,146 = 361,460 rows, the size of a real run)
    rows_per_batch: int = 36_146
    #: the batch number advances at most once per this many seconds (the original used 300)
    min_interval_seconds: float = 300.0
    #: serve this realtor.com-layout CSV instead of generated data
    csv_path: Path | None = None
    #: serialised batches kept in memory (each is a few MB at the default size)
    cache_batches: int = 4
    #: share of the rows of batch 2, 3, ... that re-serve listings of earlier batches of the
    #: same group and day (the real server samples every batch from one pool); 0 = no repeats
    repeat_share: float = 0.2
    drift: DriftConfig = field(default_factory=DriftConfig)
    dirt: DirtConfig = field(default_factory=DirtConfig)

    def __post_init__(self) -> None:
        _check_int("seed", self.seed, 0, 2**63 - 1)
        groups = tuple(self.groups)
        if not groups:
            raise ConfigError("groups must not be empty (e.g. 1-10)")
        for g in groups:
            _check_int("each group number", g, 0, 1_000_000)
        if len(set(groups)) != len(groups):
            raise ConfigError(f"groups must not repeat a number, got {groups}")
        object.__setattr__(self, "groups", tuple(sorted(groups)))
        _check_int("batches_per_day", self.batches_per_day, 1, _MAX_BATCHES_PER_DAY)
        _check_int("rows_per_batch", self.rows_per_batch, 1, _MAX_ROWS_PER_BATCH)
        _check_int("cache_batches", self.cache_batches, 0, 1_000)
        _check_share("repeat_share", self.repeat_share, MAX_REPEAT_SHARE)
        interval = self.min_interval_seconds
        if (
            isinstance(interval, bool)
            or not isinstance(interval, int | float)
            or not math.isfinite(interval)
            or interval < 0
        ):
            raise ConfigError(
                f"min_interval_seconds must be a finite number >= 0, got {interval!r}"
            )
        if self.csv_path is not None:
            path = Path(self.csv_path)
            if not path.is_file():
                raise ConfigError(
                    f"csv_path {str(path)!r} is not a readable file: give the path of a CSV in "
                    "the realtor.com listing layout, or leave it unset to generate data"
                )
            object.__setattr__(self, "csv_path", path)
        if not isinstance(self.drift, DriftConfig):
            raise ConfigError("drift must be a DriftConfig")
        if not isinstance(self.dirt, DirtConfig):
            raise ConfigError("dirt must be a DirtConfig")

    @property
    def mode(self) -> str:
        """``"csv"`` when serving a user file, ``"generator"`` otherwise."""
        return "csv" if self.csv_path is not None else "generator"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (for ``--print-config`` and logs)."""
        data = dataclasses.asdict(self)
        data["groups"] = list(self.groups)
        data["csv_path"] = str(self.csv_path) if self.csv_path else None
        data["mode"] = self.mode
        return data

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> EmulatorConfig:
        """Build a configuration from ``DATA_API_EMULATOR_*`` variables.

        Unknown ``DATA_API_EMULATOR_*`` names are rejected so that a typo does not silently
        leave a default in place. ``overrides`` (already typed) win over the environment.
        """
        env = os.environ if environ is None else environ
        specs = _env_specs()
        known = set(specs) | {variable for variable, _, _ in SERVER_ENVIRONMENT.values()}
        unknown = sorted(k for k in env if k.startswith(ENV_PREFIX) and k not in known)
        if unknown:
            raise ConfigError(
                f"unknown variable(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        top: dict[str, Any] = {}
        drift: dict[str, Any] = {}
        dirt: dict[str, Any] = {}
        for var, (section, name, parser) in specs.items():
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            try:
                value = parser(raw.strip())
            except ValueError as exc:
                raise ConfigError(f"{var}={raw!r}: {exc}") from None
            {"top": top, "drift": drift, "dirt": dirt}[section][name] = value
        try:
            top["drift"] = DriftConfig(**drift)
            top["dirt"] = DirtConfig(**dirt)
            top.update(overrides)
            return cls(**top)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (from {ENV_PREFIX}* variables or options)") from None


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")


def _parse_int(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise ValueError("not an integer")
    return int(text)


def _parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def int_between(low: int, high: int) -> Callable[[str], int]:
    """A parser of integers from ``low`` to ``high`` (ValueError says what was wrong)."""

    def parse(text: str) -> int:
        try:
            value = _parse_int(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise ValueError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _log_level(text: str) -> str:
    if text.lower() not in LOG_LEVELS:
        raise ValueError(f"{text!r} is not one of {', '.join(LOG_LEVELS)}")
    return text.lower()


#: Settings of the command line entry point (``__main__``), not of ``EmulatorConfig``:
#: field -> (environment variable, meaning, parser). The options' defaults come from here.
SERVER_ENVIRONMENT: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "host": (ENV_PREFIX + "HOST", "address to bind", str),
    "port": (ENV_PREFIX + "PORT", "TCP port", int_between(1, 65535)),
    "threads": (
        ENV_PREFIX + "THREADS",
        "gunicorn threads of the single worker",
        int_between(1, 64),
    ),
    "log_level": (ENV_PREFIX + "LOG_LEVEL", ", ".join(LOG_LEVELS), _log_level),
}


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """Where and how the command line entry point serves; validated on construction."""

    host: str = "127.0.0.1"
    port: int = 8900
    threads: int = 4
    log_level: str = "info"

    def __post_init__(self) -> None:
        for name, (_, meaning, parse) in SERVER_ENVIRONMENT.items():
            try:
                parse(str(getattr(self, name)))
            except ValueError as exc:
                raise ConfigError(f"{name} ({meaning}): {exc}") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Read the ``SERVER_ENVIRONMENT`` variables; unset or blank ones keep the defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (variable, _, parse) in SERVER_ENVIRONMENT.items():
            raw = env.get(variable, "").strip()
            if raw:
                try:
                    values[name] = parse(raw)
                except ValueError as exc:
                    raise ConfigError(f"{variable}={raw!r}: {exc}") from None
        return cls(**values)


def parse_groups(text: str) -> tuple[int, ...]:
    """Parse ``"1-10"``, ``"5"`` or ``"1,3,7-9"`` into a sorted tuple of group numbers."""
    groups: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not match:
            raise ValueError(f"{part!r} is not a group number or range; use e.g. 1-10 or 1,3,7-9")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if high < low:
            raise ValueError(f"range {part!r} ends before it starts")
        if high - low > 100_000:
            raise ValueError(f"range {part!r} is too large")
        groups.update(range(low, high + 1))
    return tuple(sorted(groups))


def _env_specs() -> dict[str, tuple[str, str, Any]]:
    specs: dict[str, tuple[str, str, Any]] = {
        ENV_PREFIX + "SEED": ("top", "seed", _parse_int),
        ENV_PREFIX + "GROUPS": ("top", "groups", parse_groups),
        ENV_PREFIX + "BATCHES_PER_DAY": ("top", "batches_per_day", _parse_int),
        ENV_PREFIX + "ROWS_PER_BATCH": ("top", "rows_per_batch", _parse_int),
        ENV_PREFIX + "MIN_INTERVAL_SECONDS": ("top", "min_interval_seconds", _parse_float),
        ENV_PREFIX + "CSV_PATH": ("top", "csv_path", Path),
        ENV_PREFIX + "CACHE_BATCHES": ("top", "cache_batches", _parse_int),
        ENV_PREFIX + "REPEAT_SHARE": ("top", "repeat_share", _parse_float),
    }
    for f in dataclasses.fields(DriftConfig):
        specs[f"{ENV_PREFIX}DRIFT_{f.name.upper()}"] = ("drift", f.name, _parse_float)
    for f in dataclasses.fields(DirtConfig):
        specs[f"{ENV_PREFIX}DIRT_{f.name.upper()}"] = ("dirt", f.name, _parse_float)
    return specs


def env_variable_names() -> list[str]:
    """Every ``DATA_API_EMULATOR_*`` variable the emulator reads (for docs and tests)."""
    return sorted([*_env_specs(), *(variable for variable, _, _ in SERVER_ENVIRONMENT.values())])
