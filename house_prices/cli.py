"""Command line of the pipeline library: run it as a plain script, list promotion decisions.

house-prices run --group 5 --day Tuesday   # every step in one process, JSON summary
house-prices decisions                     # promoted/rejected versions and why
house-prices check-mlflow                  # client and server versions agree?
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from house_prices.settings import DAYS, Settings, SettingsError


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from house_prices.pipeline import run_once

    summary = run_once(settings, args.group, args.day)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _decisions(_: argparse.Namespace, settings: Settings) -> int:
    from house_prices import registry

    client = registry.connect(settings.mlflow_tracking_uri)
    champion = registry.champion_version(client, settings.model_name)
    print(f"champion: {settings.model_name} v{champion.version}" if champion else "no champion")
    for row in registry.list_decisions(client, settings.model_name):
        holdout = f"holdout {row['holdout_rows'] or '?'} overlap {row['holdout_overlap'] or '?'}"
        print(
            f"v{row['version']:>4}  {row['decision']:<9} {row['decided_at']:<25} {holdout:<26} "
            f"{row['reason']}"
        )
    return 0


def _check_mlflow(_: argparse.Namespace, settings: Settings) -> int:
    import mlflow

    from house_prices import registry

    server = registry.check_server_version(settings.mlflow_tracking_uri)
    print(f"MLflow client {mlflow.__version__}, server {server}: compatible")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="house-prices", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every pipeline step once, in this process")
    run.add_argument("--group", type=int, default=5)
    run.add_argument("--day", choices=DAYS, default="Tuesday")
    run.set_defaults(func=_run)
    sub.add_parser("decisions", help="list promotion decisions").set_defaults(func=_decisions)
    sub.add_parser("check-mlflow", help="compare MLflow versions").set_defaults(func=_check_mlflow)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args, Settings.from_env())
    except (SettingsError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
