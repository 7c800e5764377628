"""Command line entry point: ``data-api-emulator`` (or ``python -m data_api_emulator``).

Serves the emulator under gunicorn with ONE worker (the batch sequence is in-process
state) and several threads. Options override ``DATA_API_EMULATOR_*`` variables.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from data_api_emulator.config import (
    ENV_PREFIX,
    MAX_REPEAT_SHARE,
    SERVER_ENVIRONMENT,
    ConfigError,
    EmulatorConfig,
    ServerSettings,
    int_between,
    parse_groups,
)

__all__ = ["main"]


def _option_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` for argparse: its ValueError message becomes the option's error."""

    def option(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return option


def _positive_int(low: int, high: int) -> Callable[[str], int]:
    return _option_type(int_between(low, high))


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def _repeat_share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= MAX_REPEAT_SHARE:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and {MAX_REPEAT_SHARE}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="data-api-emulator",
        description="Serve the local emulator of the house-listing data API. Settings not "
        f"given here come from {ENV_PREFIX}* variables (see docs/data-api-emulator.md).",
    )
    server = p.add_argument_group("server")
    # Defaults from the environment (read and validated by ServerSettings), types from its table.
    settings = ServerSettings.from_env()
    for name, (variable, meaning, parse) in SERVER_ENVIRONMENT.items():
        server.add_argument(
            f"--{name.replace('_', '-')}",
            type=_option_type(parse),
            default=getattr(settings, name),
            help=f"{meaning} ({variable}, default {getattr(ServerSettings, name)})",
        )
    server.add_argument(
        "--dev",
        action="store_true",
        help="use the Werkzeug development server instead of gunicorn",
    )
    server.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective data settings as JSON and exit",
    )
    data = p.add_argument_group("data (override the environment)")
    data.add_argument("--seed", type=_positive_int(0, 2**63 - 1))
    data.add_argument(
        "--groups", type=_option_type(parse_groups), help="valid group numbers, e.g. 1-10 or 1,5"
    )
    data.add_argument("--batches-per-day", type=_positive_int(1, 1000))
    data.add_argument("--rows-per-batch", type=_positive_int(1, 2_000_000))
    data.add_argument("--min-interval-seconds", type=_non_negative_float)
    data.add_argument("--cache-batches", type=_positive_int(0, 1000))
    data.add_argument(
        "--repeat-share",
        type=_repeat_share,
        help="share of the rows of batch 2, 3, ... that re-serve listings of earlier batches "
        "of the day (default 0.2; 0 = no repeats)",
    )
    data.add_argument("--csv", dest="csv_path", type=Path, help="serve this realtor.com-layout CSV")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, build the app (failing early on bad settings) and serve it."""
    try:
        args = _parser().parse_args(argv)
        overrides = {
            name: getattr(args, name)
            for name in (
                "seed",
                "groups",
                "batches_per_day",
                "rows_per_batch",
                "min_interval_seconds",
                "cache_batches",
                "repeat_share",
                "csv_path",
            )
            if getattr(args, name) is not None
        }
        config = EmulatorConfig.from_env(**overrides)
        if args.print_config:
            print(json.dumps(config.to_dict(), indent=2))
            return 0
        logging.basicConfig(
            level=args.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        from data_api_emulator.app import create_app

        app = create_app(config)
    except ConfigError as exc:
        print(f"data-api-emulator: {exc}", file=sys.stderr)
        return 2
    if args.dev:
        app.run(host=args.host, port=args.port, threaded=True)
        return 0
    _serve_with_gunicorn(app, args.host, args.port, args.threads, args.log_level)
    return 0


def _serve_with_gunicorn(app: Any, host: str, port: int, threads: int, log_level: str) -> None:
    from gunicorn.app.base import BaseApplication

    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": bind,
        # One worker on purpose: the batch sequence is in-process state.
        "workers": 1,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 120,
        "loglevel": log_level,
        "accesslog": "-",
        "proc_name": "data-api-emulator",
        "control_socket_disable": True,
    }

    class _Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    _Server().run()


if __name__ == "__main__":
    sys.exit(main())
