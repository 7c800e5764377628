"""k3s_common writes /etc/rancher/k3s/registries.yaml from k3s_registries, and removes it again.

The role's real task file runs against a temporary config directory on this machine.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from testsupport.ansible import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
MIRRORS = {
    "mirrors": {
        "docker.io": {"endpoint": ["https://mirror.example.lan:5000"]},
        "quay.io": {"endpoint": ["https://mirror.example.lan:5000"]},
    },
    "configs": {"mirror.example.lan:5000": {"tls": {"ca_file": "/etc/pki/mirror-ca.pem"}}},
}


def _apply(tmp_path: Path, registries: dict) -> subprocess.CompletedProcess:
    playbook = tmp_path / "registries.yml"
    playbook.write_text(
        textwrap.dedent(
            """\
            - hosts: localhost
              connection: local
              gather_facts: false
              tasks:
                - name: Apply the role's registries task file
                  ansible.builtin.include_role:
                    name: k3s_common
                    tasks_from: ensure_registries.yml
            """
        )
    )
    extra = {
        "ansible_python_interpreter": sys.executable,
        "k3s_common_config_dir": str(tmp_path),
        "k3s_registries": registries,
    }
    return ansible_playbook(
        playbook, "-i", "localhost,", "-e", json.dumps(extra), check=False, timeout=120
    )


def test_mirrors_are_written_root_only_then_removed(tmp_path):
    written = _apply(tmp_path, MIRRORS)
    assert written.returncode == 0, written.stdout + written.stderr
    target = tmp_path / "registries.yaml"
    assert yaml.safe_load(target.read_text()) == MIRRORS
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    again = _apply(tmp_path, MIRRORS)
    assert "changed=0" in again.stdout, again.stdout

    removed = _apply(tmp_path, {})
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not target.exists()
