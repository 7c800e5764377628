"""The offline_bundle scenario with the control machine cut off too.

prepare.yml disconnects the containers from the podman network; here converge, idempotence and
verify also run under `unshare -n` (a network namespace with only loopback), so neither the
nodes nor ansible-playbook can reach anything: the install can only succeed from the bundle.
Needs root, podman and the Molecule base image, like the other scenarios.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.molecule
def test_offline_bundle_installs_with_no_network_anywhere() -> None:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.fail("needs root and unshare(1) (util-linux)")
    venv_bin = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    env.setdefault("ANSIBLE_FORCE_COLOR", "false")
    molecule = str(venv_bin / "molecule")

    def run(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)

    steps = [
        [molecule, "destroy", "-s", "offline_bundle"],
        [molecule, "create", "-s", "offline_bundle"],
        [molecule, "prepare", "-s", "offline_bundle"],
        ["unshare", "-n", molecule, "converge", "-s", "offline_bundle"],
        ["unshare", "-n", molecule, "idempotence", "-s", "offline_bundle"],
        ["unshare", "-n", molecule, "verify", "-s", "offline_bundle"],
    ]
    try:
        for step in steps:
            result = run(*step)
            assert result.returncode == 0, (
                f"{' '.join(step)} failed:\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
            )
    finally:
        run(molecule, "destroy", "-s", "offline_bundle")
