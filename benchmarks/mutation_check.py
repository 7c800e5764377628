"""Mutation check: do the library's tests notice small deliberate bugs in its rules?

Each mutant below changes one rule of ``house_prices`` (a threshold, a comparison, a dropped
line) the way a hurried edit would. The script copies ``house_prices/`` and ``tests/`` into a
scratch directory, applies one mutant at a time, runs the library's unit tests there and
counts the mutant as *killed* when at least one test fails. A mutant whose text is no longer
in the code is reported as *stale* (the list must follow the code; a unit test checks that
none is stale).

    .venv/bin/python benchmarks/mutation_check.py [--only cleaning,drift] [--list]

Prints one line per mutant and the kill rate per module; exits 1 when a mutant survives.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: The unit tests that guard the rules mutated here (no servers: each run takes seconds).
GUARD_TESTS = (
    "tests/unit/test_cleaning.py",
    "tests/unit/test_drift.py",
    "tests/unit/test_identity.py",
    "tests/unit/test_promotion.py",
    "tests/unit/test_training_and_explain.py",
    "tests/unit/test_leakage.py",
)


@dataclass(frozen=True)
class Mutant:
    """Replace ``old`` (it must occur exactly once) by ``new`` in ``house_prices/<module>.py``."""

    module: str
    name: str
    old: str
    new: str

    @property
    def path(self) -> str:
        return f"house_prices/{self.module}.py"


MUTANTS = (
    # cleaning: the rules that drop, blank and normalise
    Mutant("cleaning", "zip: 5-digit zips become NA", r'r"\d{1,5}"', r'r"\d{1,4}"'),
    Mutant("cleaning", "zip: no zero padding", ".str.zfill(5)", ""),
    Mutant(
        "cleaning",
        "price minimum exclusive",
        '(frame["price"] < rules.price_min)',
        '(frame["price"] <= rules.price_min)',
    ),
    Mutant(
        "cleaning",
        "price minimum rule changed",
        "price_min: float = 10_000.0",
        "price_min: float = 1_000.0",
    ),
    Mutant("cleaning", "price maximum ignored", '| (frame["price"] > rules.price_max)', ""),
    Mutant("cleaning", "negative beds kept", '(frame["bed"] < 0) | ', ""),
    Mutant("cleaning", "too many beds kept", '| (frame["bed"] > rules.max_rooms)', ""),
    Mutant("cleaning", "negative baths kept", '(frame["bath"] < 0) | ', ""),
    Mutant("cleaning", "zero lot kept", '(frame["acre_lot"] <= 0)', '(frame["acre_lot"] < 0)'),
    Mutant(
        "cleaning",
        "tiny house kept",
        '(frame["house_size"] < rules.min_house_size)',
        '(frame["house_size"] < 0)',
    ),
    Mutant(
        "cleaning",
        "unknown status kept",
        'drop("status_unknown", ~frame["status"].isin(STATUSES).fillna(False).astype(bool))',
        'drop("status_unknown", frame["status"].isna())',
    ),
    Mutant(
        "cleaning",
        "missing state kept",
        'drop("state_missing", frame["state"].isna())',
        'drop("state_missing", frame["state"] == "")',
    ),
    Mutant("cleaning", "no-size rows kept", ".isna().all(axis=1))", ".isna().all(axis=1) & False)"),
    Mutant(
        "cleaning",
        "duplicates kept",
        'frame.duplicated(keep="first")',
        "frame.duplicated(keep=False) & False",
    ),
    Mutant(
        "cleaning",
        "state not title-cased",
        '_normalise_text(raw["state"]).str.title()',
        '_normalise_text(raw["state"])',
    ),
    Mutant("cleaning", "min_rows not enforced", "if len(frame) < rules.min_rows:", "if False:"),
    # drift: effect size AND significance, the thresholds, the overall verdict
    Mutant(
        "drift",
        "KS threshold 0.1 -> 0.25",
        "ks_statistic: float = 0.1",
        "ks_statistic: float = 0.25",
    ),
    Mutant(
        "drift", "p-value threshold 0.01 -> 0.05", "p_value: float = 0.01", "p_value: float = 0.05"
    ),
    Mutant(
        "drift", "JS threshold 0.1 -> 0.3", "js_distance: float = 0.1", "js_distance: float = 0.3"
    ),
    Mutant(
        "drift",
        "numeric effect size ignored",
        '"drifted": p_value < limits.p_value and statistic >= limits.ks_statistic',
        '"drifted": p_value < limits.p_value',
    ),
    Mutant(
        "drift",
        "categorical effect size ignored",
        '"drifted": p_value < limits.p_value and distance >= limits.js_distance',
        '"drifted": p_value < limits.p_value',
    ),
    Mutant(
        "drift",
        "categorical significance ignored",
        '"drifted": p_value < limits.p_value and distance >= limits.js_distance',
        '"drifted": distance >= limits.js_distance',
    ),
    Mutant(
        "drift",
        "dataset drift needs two features",
        '"dataset_drift": len(drifted) >= limits.min_drifted_features',
        '"dataset_drift": len(drifted) > limits.min_drifted_features',
    ),
    Mutant(
        "drift",
        "price not checked",
        "DRIFT_NUMERIC = (*NUMERIC_FEATURES, TARGET)",
        "DRIFT_NUMERIC = NUMERIC_FEATURES",
    ),
    # promotion: the margin, the comparison, the fairness check
    Mutant(
        "promotion",
        "margin ignored",
        'needed = champion["rmse"] * (1 - margin)',
        'needed = champion["rmse"]',
    ),
    Mutant(
        "promotion",
        "strictly better needed",
        'better = challenger["rmse"] <= needed',
        'better = challenger["rmse"] < needed',
    ),
    Mutant(
        "promotion",
        "comparison inverted",
        'better = challenger["rmse"] <= needed',
        'better = challenger["rmse"] >= needed',
    ),
    Mutant("promotion", "overlap allowed", "if holdout.overlap:", "if False:"),
    Mutant(
        "pipeline",
        "configured margin 1 % -> 0",
        "promotion_margin: float = 0.01",
        "promotion_margin: float = 0.0",
    ),
    # identity and training: who is in the holdout, what the model is fitted on
    Mutant(
        "identity",
        "street ignored in the address",
        'ADDRESS_COLUMNS = ("street", "city", "state", "zip_code")',
        'ADDRESS_COLUMNS = ("city", "state", "zip_code")',
    ),
    Mutant(
        "identity",
        "holdout bucket not from identity",
        "return buckets < round(share * _BUCKETS)",
        "return np.random.default_rng().random(len(buckets)) < share",
    ),
    Mutant(
        "identity",
        "holdout share ignored",
        "return buckets < round(share * _BUCKETS)",
        "return buckets < round(0.2 * _BUCKETS)",
    ),
    Mutant(
        "training",
        "duplicates across batches kept",
        'union.drop_duplicates(subset=[LISTING_ID], keep="last")',
        "union",
    ),
    Mutant(
        "training",
        "oldest copy kept",
        'union.drop_duplicates(subset=[LISTING_ID], keep="last")',
        'union.drop_duplicates(subset=[LISTING_ID], keep="first")',
    ),
    Mutant(
        "training",
        "training on train + holdout",
        "pipeline.fit(train_rows[list(FEATURES)], train_rows[TARGET])",
        "pipeline.fit(rows[list(FEATURES)], rows[TARGET])",
    ),
    Mutant(
        "training",
        "holdout by position, not identity",
        "rows[~in_holdout_mask], rows[in_holdout_mask]",
        "rows.iloc[len(rows) // 5 :], rows.iloc[: len(rows) // 5]",
    ),
    Mutant(
        "training",
        "R2 without the mean",
        "total = float(((truth - truth.mean()) ** 2).sum())",
        "total = float((truth**2).sum())",
    ),
)


def _copy_tree(destination: Path) -> None:
    for name in ("house_prices", "tests"):
        shutil.copytree(
            REPO / name, destination / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(REPO / "pyproject.toml", destination / "pyproject.toml")


def _run_guard_tests(workdir: Path) -> tuple[bool, float]:
    started = time.perf_counter()
    present = [test for test in GUARD_TESTS if (workdir / test).exists()]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not integration",
            *present,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated modules, e.g. cleaning,drift")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or m.module in args.only.split(",")]
    if args.list:
        for mutant in mutants:
            print(f"{mutant.module:<10} {mutant.name}")
        return 0
    outcome: Counter[tuple[str, str]] = Counter()
    with tempfile.TemporaryDirectory(prefix="mutants-") as scratch:
        workdir = Path(scratch)
        _copy_tree(workdir)
        passed, seconds = _run_guard_tests(workdir)
        if not passed:
            print("the guard tests fail without any mutant: fix them first", file=sys.stderr)
            return 2
        print(f"guard tests pass unmutated in {seconds:.1f} s; {len(mutants)} mutants")
        for mutant in mutants:
            target = workdir / mutant.path
            original = target.read_text() if target.exists() else ""
            if original.count(mutant.old) != 1:
                verdict = "stale"
            else:
                target.write_text(original.replace(mutant.old, mutant.new))
                try:
                    survived, seconds = _run_guard_tests(workdir)
                finally:
                    target.write_text(original)
                verdict = "SURVIVED" if survived else "killed"
            outcome[(mutant.module, verdict)] += 1
            print(f"{verdict:<9} {mutant.module:<10} {mutant.name}", flush=True)
    print("\nmodule      killed  survived  stale  kill rate")
    for module in sorted({m.module for m in mutants}):
        killed, survived = outcome[(module, "killed")], outcome[(module, "SURVIVED")]
        rate = killed / (killed + survived) if killed + survived else float("nan")
        print(
            f"{module:<10} {killed:>7} {survived:>9} {outcome[(module, 'stale')]:>6}  {rate:>8.0%}"
        )
    killed = sum(n for (_, verdict), n in outcome.items() if verdict == "killed")
    survived = sum(n for (_, verdict), n in outcome.items() if verdict == "SURVIVED")
    print(
        f"all        {killed:>7} {survived:>9}   kill rate {killed / max(1, killed + survived):.0%}"
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
