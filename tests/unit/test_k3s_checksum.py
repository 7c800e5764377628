"""k3s_common refuses to install a k3s binary whose sha256 is unknown or wrong.

Runs the real role with ansible-playbook against localhost; every case stops at an assert
before any task changes the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((ROOT / "versions.yml").read_text())["k3s"]


def _run(tmp_path: Path, **extra) -> subprocess.CompletedProcess:
    playbook = tmp_path / "install.yml"
    playbook.write_text(
        textwrap.dedent(
            """\
            - hosts: localhost
              connection: local
              gather_facts: true
              gather_subset: [min]
              roles:
                - role: k3s_common
            """
        )
    )
    extra_vars = {
        "ansible_python_interpreter": sys.executable,
        "k3s_version": VERSION,
        "k3s_install_source": "url",
        "k3s_release_url": "http://127.0.0.1:9/unreachable",
        "k3s_artifacts_dir": str(tmp_path / "kit"),
        "k3s_common_bin_dir": str(tmp_path / "bin"),
        **extra,
    }
    env = dict(
        os.environ,
        ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_NOCOLOR="true",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-e", json.dumps(extra_vars)]
    return subprocess.run(
        [*command, str(playbook)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _kit(tmp_path: Path, listed_sha: str | None) -> Path:
    kit = tmp_path / "kit" / VERSION
    kit.mkdir(parents=True)
    binary = kit / "k3s"
    binary.write_text("#!/bin/sh\n# test fixture, not k3s\nexit 1\n")
    if listed_sha is not None:
        (kit / "sha256sum-amd64.txt").write_text(f"{listed_sha}  k3s\n")
    return binary


def test_url_mode_without_a_known_checksum_stops(tmp_path):
    result = _run(tmp_path)
    assert result.returncode != 0
    out = " ".join(result.stdout.split())
    assert f"No sha256 is known for k3s {VERSION} (amd64)" in out
    assert "Set k3s_common_binary_sha256" in out
    assert not (tmp_path / "bin").exists()


def test_artifacts_mode_without_sumfile_stops(tmp_path):
    _kit(tmp_path, listed_sha=None)
    result = _run(tmp_path, k3s_install_source="artifacts")
    assert result.returncode != 0
    assert "Put the release's sha256sum-amd64.txt" in " ".join(result.stdout.split())


def test_artifacts_mode_with_a_wrong_binary_stops(tmp_path):
    binary = _kit(tmp_path, listed_sha="0" * 64)
    result = _run(tmp_path, k3s_install_source="artifacts")
    actual = hashlib.sha256(binary.read_bytes()).hexdigest()
    assert result.returncode != 0
    out = " ".join(result.stdout.split())
    assert f"has sha256 {actual} but {'0' * 64} is expected" in out
    assert not (tmp_path / "bin").exists()
