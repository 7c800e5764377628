"""Run every Molecule scenario (podman, Debian 12 systemd containers) from the pytest run.

Needs root, podman and the base image (scripts/molecule-image.sh builds it); .ci/run
provides them. Each scenario creates its containers and destroys them at the end. Scenarios
are independent (their container names carry the scenario's name), so they run side by side:
MOLECULE_JOBS at a time (default 3), each one's full log in artifacts/molecule/<name>.log.
Each runs through scripts/ci/molecule.sh, the step the CI workflow's matrix calls (for
offline_bundle it also cuts the control machine's network).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(
    path.parent.name
    for path in (ROOT / "molecule").glob("*/molecule.yml")
    if path.parent.name != "shared"
)
LOGS = ROOT / "artifacts" / "molecule"


def test_scenarios_are_discovered():
    assert {"default", "server_agent", "preflight_refuses", "ha_cluster", "offline_bundle"} <= set(
        SCENARIOS
    )


def _run(scenario: str) -> subprocess.CompletedProcess:
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    env.setdefault("ANSIBLE_FORCE_COLOR", "false")
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / f"{scenario}.log", "w") as log:
        return subprocess.run(
            [str(ROOT / "scripts/ci/molecule.sh"), scenario],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=2700,
            check=False,
        )


@pytest.fixture(scope="session")
def scenario_runs(request) -> dict[str, Future]:
    """Start every selected scenario once, MOLECULE_JOBS at a time."""
    selected = {
        item.callspec.params["scenario"]
        for item in request.session.items
        if item.originalname == "test_molecule_scenario"
    }
    pool = ThreadPoolExecutor(max_workers=int(os.environ.get("MOLECULE_JOBS", "3")))
    request.addfinalizer(pool.shutdown)
    # The longest scenario first, so it does not start last.
    order = sorted(selected, key=lambda name: name != "ha_cluster")
    return {name: pool.submit(_run, name) for name in order}


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str, scenario_runs: dict[str, Future]) -> None:
    result = scenario_runs[scenario].result()
    lines = (LOGS / f"{scenario}.log").read_text().splitlines()
    tail = "\n".join(lines[-80:])
    assert result.returncode == 0, f"molecule test -s {scenario} failed:\n{tail}"
