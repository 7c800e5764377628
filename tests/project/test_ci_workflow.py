"""The GitHub Actions workflow is valid, calls the project's step scripts and covers every suite.

actionlint (the real checker, from the dev extras) is run on the workflow and on a broken copy;
the structural checks are also shown to reject a broken copy.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github/workflows/ci.yml"
ACTIONLINT = Path(sys.executable).parent / "actionlint"


def _load(text: str) -> dict:
    return yaml.safe_load(text)


def _actionlint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _run_steps(workflow: dict) -> list[tuple[str, str]]:
    return [
        (job_name, step["run"])
        for job_name, job in workflow["jobs"].items()
        for step in job["steps"]
        if "run" in step
    ]


def _inline_steps(workflow: dict) -> list[str]:
    """run: steps that are not one call of an executable script under scripts/."""
    problems = []
    for job_name, command in _run_steps(workflow):
        words = shlex.split(command) if "\n" not in command.strip() else []
        script = ROOT / words[0] if words else None
        if (
            script is None
            or not words[0].startswith("scripts/")
            or any(char in command for char in ";&|`")
            or not script.is_file()
            or not os.access(script, os.X_OK)
        ):
            problems.append(f"{job_name}: {command!r}")
    return problems


def _scenarios() -> set[str]:
    return {
        path.parent.name
        for path in (ROOT / "molecule").glob("*/molecule.yml")
        if path.parent.name != "shared"
    }


def _python_suites() -> set[str]:
    return {
        path.name
        for path in (ROOT / "tests").iterdir()
        if path.is_dir() and path.name != "molecule" and any(path.glob("test_*.py"))
    }


def test_actionlint_accepts_the_workflow():
    result = _actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_copy(tmp_path):
    broken = tmp_path / ".github/workflows/ci.yml"
    broken.parent.mkdir(parents=True)
    text = WORKFLOW.read_text()
    assert "${{ matrix.scenario }}" in text
    broken.write_text(text.replace("${{ matrix.scenario }}", "${{ matrix.scenarios }}"))
    result = _actionlint(broken)
    assert result.returncode != 0
    assert "scenarios" in result.stdout


def test_every_run_step_calls_one_script_under_scripts():
    workflow = _load(WORKFLOW.read_text())
    assert _run_steps(workflow), "no run: steps found"
    assert _inline_steps(workflow) == []


@pytest.mark.parametrize(
    "inline",
    [
        "ruff check .",
        "scripts/ci/lint.sh && ruff check .",
        "scripts/ci/lint.sh\nruff check .\n",
        "scripts/ci/no-such-step.sh",
    ],
)
def test_the_run_step_check_rejects_an_inline_copy(inline):
    workflow = _load(WORKFLOW.read_text())
    workflow["jobs"]["lint"]["steps"][-1]["run"] = inline
    assert len(_inline_steps(workflow)) == 1


def test_local_runner_calls_the_same_step_scripts():
    """scripts/run-tests.sh (./appliance test, .ci/run) runs the workflow's steps in order."""
    lines = [
        line.strip()
        for line in (ROOT / "scripts/run-tests.sh").read_text().splitlines()
        if line.strip().startswith("scripts/")
    ]
    steps = [shlex.split(line)[0] for line in lines]
    assert steps == [
        "scripts/ci/install.sh",
        "scripts/ci/lint.sh",
        "scripts/molecule-image.sh",
        "scripts/ci/app-image.sh",
        "scripts/ci/pytest.sh",
    ]
    used_in_workflow = {
        shlex.split(command)[0] for _, command in _run_steps(_load(WORKFLOW.read_text()))
    }
    # molecule.sh is the per-scenario form of tests/molecule, which run-tests.sh runs in pytest.
    assert used_in_workflow == {*steps, "scripts/ci/molecule.sh"}


def test_molecule_matrix_lists_every_scenario_once():
    matrix = _load(WORKFLOW.read_text())["jobs"]["molecule"]["strategy"]["matrix"]["scenario"]
    assert len(matrix) == len(set(matrix))
    assert set(matrix) == _scenarios()


def test_python_matrix_lists_every_test_suite_once():
    matrix = _load(WORKFLOW.read_text())["jobs"]["python"]["strategy"]["matrix"]["suite"]
    assert len(matrix) == len(set(matrix))
    assert set(matrix) == _python_suites()


def test_scenario_discovery_sees_a_new_scenario(tmp_path, monkeypatch):
    """The equality above would fail for a scenario directory the matrix does not name."""
    fake_root = tmp_path / "repo"
    for name in [*sorted(_scenarios()), "shared", "new_one"]:
        (fake_root / "molecule" / name).mkdir(parents=True)
        if name != "shared":
            (fake_root / "molecule" / name / "molecule.yml").write_text("---\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    matrix = _load(WORKFLOW.read_text())["jobs"]["molecule"]["strategy"]["matrix"]["scenario"]
    assert _scenarios() - set(matrix) == {"new_one"}


def test_molecule_step_refuses_an_unknown_scenario():
    result = subprocess.run(
        [str(ROOT / "scripts/ci/molecule.sh"), "no_such_scenario"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 2
    assert "one of: " in result.stderr
    for scenario in _scenarios():
        assert scenario in result.stderr
