"""Mutation check: do the library's tests notice small deliberate bugs in its rules?

Two sets of mutants over ``house_prices``:

* ``targeted`` (the default): each changes one rule (a threshold, a comparison, a dropped
  line) the way a hurried edit would, including every mutant that survived the first check
  of issue 13. A mutant whose text is no longer in the code is *stale* (a unit test checks
  that none is).
* ``operators``: generated mechanically from the code, so nobody chose them to be caught:
  every one-line comparison flipped (``<`` and ``<=``, ``==`` and ``!=``, ...), every ``and``
  turned ``or`` and back, every ``not`` dropped, every ``+``/``-`` and ``*``/``/`` swapped,
  every numeric constant changed, in the modules with rules (``GENERATED_FROM``).

The script copies ``house_prices/`` and ``tests/`` into a scratch directory, applies one
mutant at a time, runs the library's unit tests there (``GUARD_TESTS``) and counts the mutant
as *killed* when at least one test fails.

    .venv/bin/python benchmarks/mutation_check.py [--set operators] [--only cleaning,drift]

Prints one line per mutant and the kill rate per module; exits 1 when a mutant survives.
"""

from __future__ import annotations

import argparse
import ast
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
#: The ``operators`` set runs only its module's own tests (``MODULE_TESTS``): a lower bound
#: on what the whole list would catch, at a fraction of the time.
GUARD_TESTS = (
    "tests/library/test_cleaning.py",
    "tests/library/test_drift.py",
    "tests/library/test_identity.py",
    "tests/library/test_promotion.py",
    "tests/library/test_training_and_explain.py",
    "tests/library/test_leakage.py",
)


MODULE_TESTS = {
    "cleaning": ("tests/library/test_cleaning.py", "tests/library/test_identity.py"),
    "drift": ("tests/library/test_drift.py",),
    "identity": (
        "tests/library/test_identity.py",
        "tests/library/test_cleaning.py",
        "tests/library/test_training_and_explain.py",
    ),
    "promotion": ("tests/library/test_promotion.py",),
    "training": ("tests/library/test_training_and_explain.py", "tests/library/test_leakage.py"),
}


@dataclass(frozen=True)
class Mutant:
    """Replace ``old`` by ``new`` in ``house_prices/<module>.py``: on line ``line`` when given,
    else where ``old`` occurs (it must occur exactly once)."""

    module: str
    name: str
    old: str
    new: str
    line: int = 0

    @property
    def path(self) -> str:
        return f"house_prices/{self.module}.py"

    def apply(self, source: str) -> str | None:
        """The mutated source, or None when the mutant no longer fits the code."""
        if not self.line:
            return source.replace(self.old, self.new) if source.count(self.old) == 1 else None
        lines = source.splitlines(keepends=True)
        if self.line > len(lines) or lines[self.line - 1].count(self.old) != 1:
            return None
        lines[self.line - 1] = lines[self.line - 1].replace(self.old, self.new)
        return "".join(lines)


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


#: Modules whose code the ``operators`` set mutates.
GENERATED_FROM = ("cleaning", "drift", "identity", "promotion", "training")
_FLIPPED = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_SWAPPED = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}


def _variants(node: ast.AST) -> list[tuple[str, ast.AST]]:
    """(what changed, mutated copy) for one node; empty when it is not mutated."""
    import copy

    out = []
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _FLIPPED:
        changed = copy.deepcopy(node)
        changed.ops = [_FLIPPED[type(node.ops[0])]()]
        out.append(("comparison flipped", changed))
    elif isinstance(node, ast.BoolOp):
        changed = copy.deepcopy(node)
        changed.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        out.append(("and/or swapped", changed))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert):
        out.append(("negation dropped", node.operand))
    elif isinstance(node, ast.BinOp) and type(node.op) in _SWAPPED:
        changed = copy.deepcopy(node)
        changed.op = _SWAPPED[type(node.op)]()
        out.append(("arithmetic swapped", changed))
    elif (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        value = node.value + 1 if isinstance(node.value, int) else (node.value * 2 or 1.0)
        out.append(("constant changed", ast.Constant(value)))
    return out


def operator_mutants(modules: tuple[str, ...] = GENERATED_FROM) -> list[Mutant]:
    """Mechanical mutants of every one-line expression the rules are made of."""
    mutants = []
    for module in modules:
        source = (REPO / f"house_prices/{module}.py").read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if getattr(node, "lineno", None) is None or node.lineno != node.end_lineno:
                continue
            old = ast.get_source_segment(source, node)
            if old is None or lines[node.lineno - 1].count(old) != 1:
                continue  # the same text twice on one line: ambiguous, left out
            for what, changed in _variants(node):
                new = ast.unparse(changed)
                if new != old:
                    name = f"line {node.lineno}: {what}: {old} -> {new}"
                    mutants.append(Mutant(module, name, old, new, node.lineno))
    return mutants


def _copy_tree(destination: Path) -> None:
    for name in ("house_prices", "tests"):
        shutil.copytree(
            REPO / name, destination / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(REPO / "pyproject.toml", destination / "pyproject.toml")


def _run_guard_tests(workdir: Path, tests: tuple[str, ...] = GUARD_TESTS) -> tuple[bool, float]:
    started = time.perf_counter()
    present = [test for test in tests if (workdir / test).exists()]
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
    parser.add_argument("--set", choices=("targeted", "operators"), default="targeted")
    parser.add_argument("--only", help="comma-separated modules, e.g. cleaning,drift")
    parser.add_argument("--match", action="append", default=[], help="names containing this")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)
    chosen = MUTANTS if args.set == "targeted" else operator_mutants()
    mutants = [
        m
        for m in chosen
        if (not args.only or m.module in args.only.split(","))
        and (not args.match or any(text in m.name for text in args.match))
    ]
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
            mutated = mutant.apply(original)
            if mutated is None:
                verdict = "stale"
            else:
                target.write_text(mutated)
                try:
                    tests = GUARD_TESTS if args.set == "targeted" else MODULE_TESTS[mutant.module]
                    survived, seconds = _run_guard_tests(workdir, tests)
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
