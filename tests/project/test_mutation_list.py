"""The mutation check's mutants must follow the code: a mutant whose text is gone tests nothing."""

import pytest

from benchmarks.mutation_check import (
    GENERATED_FROM,
    GUARD_TESTS,
    MODULE_TESTS,
    MUTANTS,
    REPO,
    operator_mutants,
)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: f"{m.module}: {m.name}")
def test_every_mutant_applies_to_exactly_one_place(mutant):
    source = (REPO / mutant.path).read_text()
    assert source.count(mutant.old) == 1, f"{mutant.name!r} no longer matches {mutant.path}"
    assert mutant.old != mutant.new


def test_the_guard_tests_exist():
    assert all((REPO / path).is_file() for path in GUARD_TESTS)
    assert set(MODULE_TESTS) == set(GENERATED_FROM)
    assert all(path in GUARD_TESTS for paths in MODULE_TESTS.values() for path in paths)


def test_each_issue_13_mutant_is_in_the_list():
    """The survivors of the first mutation check (issue 13) stay covered."""
    names = {mutant.name for mutant in MUTANTS}
    assert {
        "categorical effect size ignored",
        "KS threshold 0.1 -> 0.25",
        "p-value threshold 0.01 -> 0.05",
        "configured margin 1 % -> 0",
        "zip: 5-digit zips become NA",
        "negative beds kept",
        "zero lot kept",
        "price minimum rule changed",
        "holdout bucket not from identity",
        "training on train + holdout",
    } <= names


def test_generated_operator_mutants_are_valid_python_that_differs():
    import ast

    mutants = operator_mutants()
    assert len(mutants) > 50
    for mutant in mutants:
        source = (REPO / mutant.path).read_text()
        mutated = mutant.apply(source)
        assert mutated is not None and mutated != source, mutant.name
        ast.parse(mutated)
