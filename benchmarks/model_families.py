"""Benchmark: holdout quality of each model family, trained the way the pipeline trains.

The emulator's listings (group 5, Tuesday, batches 1..N at the default 36,146 rows and dirt)
are cleaned, reduced to one row per listing, split by listing identity, fitted and scored on
the holdout, once per family in ``training.MODEL_FAMILIES``. Every family learns prices in
dollars, so its SHAP values stay dollars that add up to the price (checked on 200 rows).

    .venv/bin/python benchmarks/model_families.py [--batches 3]

Prints one row per family: holdout RMSE, MAE, R², MAPE, fit seconds, SHAP additivity error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from data_api_emulator.config import EmulatorConfig  # noqa: E402
from data_api_emulator.generator import generate_batch  # noqa: E402
from house_prices.cleaning import clean  # noqa: E402
from house_prices.explain import PipelineExplainer  # noqa: E402
from house_prices.training import (  # noqa: E402
    MODEL_FAMILIES,
    TrainingConfig,
    fit_challenger,
    training_rows,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args(argv)
    defaults = EmulatorConfig()
    cleaned = [
        clean(
            generate_batch(5, "Tuesday", b, defaults.rows_per_batch, defaults.seed).astype("string")
        ).frame
        for b in range(1, args.batches + 1)
    ]
    rows, copies = training_rows(cleaned)
    print(f"{len(rows):,} listings from {args.batches} batches ({copies:,} copies removed)")
    header = ("RMSE $", 10), ("MAE $", 10), ("R2", 7), ("MAPE %", 8), ("fit s", 7)
    print(f"{'family':<24}" + "".join(f"{name:>{width}}" for name, width in header), end="")
    print(f"{'explain 1 row ms':>18}{'SHAP err $':>11}")
    for family in MODEL_FAMILIES:
        started = time.perf_counter()
        challenger = fit_challenger(rows, TrainingConfig(family=family))
        seconds = time.perf_counter() - started
        explainer = PipelineExplainer(challenger.pipeline)
        explanation = explainer.explain(challenger.holdout.head(200))
        one_row = challenger.holdout.head(1)
        started = time.perf_counter()
        for _ in range(50):
            explainer.explain(one_row)
        explain_ms = (time.perf_counter() - started) / 50 * 1000
        m = challenger.metrics
        print(
            f"{family:<24}{m['rmse']:>10,.0f}{m['mae']:>10,.0f}{m['r2']:>7.3f}{m['mape']:>8.1f}"
            f"{seconds:>7.1f}{explain_ms:>18.1f}{explanation.max_additivity_error():>11.4f}"
        )
    print(f"holdout: {len(challenger.holdout):,} listings, train: {len(challenger.train_rows):,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
