"""The Molecule scenarios, started in the background early in the test session.

A scenario spends most of its time in containers and in Ansible on about one core, while the
rest of the suite mostly keeps one core busy too: started early (tests/conftest.py), the
scenarios run beside the other tests instead of after them, one at a time, and tests/molecule
collects their results. Each scenario runs through scripts/ci/molecule.sh, the step the CI
workflow's matrix calls, its full log in artifacts/molecule/<name>.log. Scenarios are
independent (their container names carry the scenario's name): MOLECULE_JOBS of them at a
time (default 1).
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from testsupport.ansible import REPO

SCENARIOS = sorted(
    path.parent.name
    for path in (REPO / "molecule").glob("*/molecule.yml")
    if path.parent.name != "shared"
)
LOGS = REPO / "artifacts" / "molecule"
#: The longest scenario starts first, so it does not start last.
LONGEST = "ha_cluster"

_pool: ThreadPoolExecutor | None = None
_runs: dict[str, Future] = {}


def run(scenario: str) -> subprocess.CompletedProcess:
    """``scripts/ci/molecule.sh <scenario>`` with this environment's tools first on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    env.setdefault("ANSIBLE_FORCE_COLOR", "false")
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / f"{scenario}.log", "w") as log:
        return subprocess.run(
            # Niced: a scenario only takes the CPU the tests beside it leave (their services
            # wait within fixed budgets); its containers inherit the priority.
            ["nice", "-n", "10", str(REPO / "scripts/ci/molecule.sh"), scenario],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=2700,
            check=False,
        )


def start(scenarios: set[str]) -> dict[str, Future]:
    """Start each of ``scenarios`` not started yet (none: nothing); every run started so far,
    by name."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=int(os.environ.get("MOLECULE_JOBS", "1")))
    for name in sorted(scenarios - _runs.keys(), key=lambda name: (name != LONGEST, name)):
        _runs[name] = _pool.submit(run, name)
    return dict(_runs)


def finish() -> None:
    """At the end of the session: drop the runs not started, wait for the running ones."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None
    _runs.clear()
