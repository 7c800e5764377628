"""Run every Molecule scenario (podman, Debian 12 systemd containers) from the pytest run.

Needs root, podman and the base image (scripts/molecule-image.sh builds it); .ci/run
provides them. Each scenario creates its containers and destroys them at the end. The
scenarios start in the background early in the session (testsupport/molecule.py, started
from tests/conftest.py); these tests wait for their results. For offline_bundle,
scripts/ci/molecule.sh also cuts the control machine's network.
"""

from __future__ import annotations

import pytest

from testsupport import molecule


def test_scenarios_are_discovered():
    assert {"default", "server_agent", "preflight_refuses", "ha_cluster", "offline_bundle"} <= set(
        molecule.SCENARIOS
    )


@pytest.mark.molecule
@pytest.mark.parametrize("scenario", molecule.SCENARIOS)
def test_molecule_scenario(scenario: str) -> None:
    # Started early in the session already; started here when this test runs on its own.
    result = molecule.start({scenario})[scenario].result()
    lines = (molecule.LOGS / f"{scenario}.log").read_text().splitlines()
    tail = "\n".join(lines[-80:])
    assert result.returncode == 0, f"molecule test -s {scenario} failed:\n{tail}"
