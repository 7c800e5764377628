"""Run every Molecule scenario (podman, Debian 12 systemd containers) from the pytest run.

Needs root, podman and the base image (scripts/molecule-image.sh builds it); .ci/run
provides them. Each scenario creates its containers and destroys them at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(
    path.parent.name
    for path in (ROOT / "molecule").glob("*/molecule.yml")
    if path.parent.name != "shared"
)


def test_scenarios_are_discovered():
    assert {"default", "server_agent", "preflight_refuses", "k3s_double"} <= set(SCENARIOS)


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario: str) -> None:
    venv_bin = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    env.setdefault("ANSIBLE_FORCE_COLOR", "false")
    result = subprocess.run(
        [str(Path(venv_bin) / "molecule"), "test", "-s", scenario],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-80:])
    assert result.returncode == 0, f"molecule test -s {scenario} failed:\n{tail}"
