"""k3s_common knows the sha256 of the pinned k3s release and refuses a binary whose sha256 is
unknown or wrong.

Runs the real role with ansible-playbook against localhost. The release "server" is a local
HTTP server serving a stand-in file, so the cases prove which sha256 the role demands and that
a mismatch stops it before anything is installed; they cannot prove the shipped values match
GitHub's files (the sources are cited in roles/k3s_common/vars/main.yml).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((ROOT / "versions.yml").read_text())["k3s"]
ROLE_VARS = yaml.safe_load((ROOT / "roles/k3s_common/vars/main.yml").read_text())
EXAMPLE_CLUSTER_VARS = ROOT / "inventory/example/group_vars/all/cluster.yml"
UNPINNED_VERSION = "v1.33.4+k3s1"
STAND_IN = b"#!/bin/sh\n# test fixture, not k3s\nexit 1\n"

_release = ROLE_VARS["_k3s_common_arch_map"].get(platform.machine())
pytestmark = pytest.mark.skipif(_release is None, reason="k3s has no release for this CPU")
ARCH = _release["arch"] if _release else ""
BINARY = f"k3s{_release['suffix']}" if _release else ""


@pytest.fixture
def release_server(tmp_path):
    """A directory served over HTTP like the release download URL; yields (root, base URL)."""
    root = tmp_path / "releases"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _run(tmp_path: Path, *var_files: Path, **extra) -> subprocess.CompletedProcess:
    # The example inventory finds versions.yml one level above the playbook directory.
    play_dir = tmp_path / "playbooks"
    play_dir.mkdir(exist_ok=True)
    shutil.copy(ROOT / "versions.yml", tmp_path / "versions.yml")
    playbook = play_dir / "install.yml"
    playbook.write_text(
        textwrap.dedent(
            """\
            - hosts: localhost
              connection: local
              gather_facts: true
              gather_subset: [min]
              roles:
                - role: k3s_common
              post_tasks:
                # k3s_server/k3s_agent restart the service on this flag; this play only prints it.
                - name: Report whether a restart is needed
                  ansible.builtin.debug:
                    msg: "k3s restart needed: {{ k3s_common_changed }}"
            """
        )
    )
    (tmp_path / "bin").mkdir(exist_ok=True)
    extra_vars = {
        "ansible_python_interpreter": sys.executable,
        "k3s_release_url": "http://127.0.0.1:9/unreachable",
        "k3s_artifacts_dir": str(tmp_path / "kit"),
        "k3s_common_bin_dir": str(tmp_path / "bin"),
        "k3s_common_config_dir": str(tmp_path / "etc"),
        **extra,
    }
    env = dict(
        os.environ,
        ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_NOCOLOR="true",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    command = [str(BIN / "ansible-playbook"), "-i", "localhost,"]
    for var_file in var_files:
        command += ["-e", f"@{var_file}"]
    command += ["-e", json.dumps(extra_vars)]
    return subprocess.run(
        [*command, str(playbook)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _publish(root: Path, version: str, sumfile: str | None = None) -> str:
    """Put the stand-in binary (and optionally a sha256sum file) under the release URL."""
    directory = root / version
    directory.mkdir(parents=True)
    (directory / BINARY).write_bytes(STAND_IN)
    if sumfile is not None:
        (directory / f"sha256sum-{ARCH}.txt").write_text(sumfile)
    return hashlib.sha256(STAND_IN).hexdigest()


def _kit(tmp_path: Path, version: str, listed_sha: str | None) -> Path:
    kit = tmp_path / "kit" / version
    kit.mkdir(parents=True)
    binary = kit / BINARY
    binary.write_bytes(STAND_IN)
    if listed_sha is not None:
        (kit / f"sha256sum-{ARCH}.txt").write_text(f"{listed_sha}  {BINARY}\n")
    return binary


def _out(result: subprocess.CompletedProcess) -> str:
    return " ".join((result.stdout + result.stderr).split())


def test_checksum_table_lists_exactly_the_pinned_version_for_every_architecture():
    table = ROLE_VARS["_k3s_common_checksums"]
    # An entry for a version that is not pinned is stale; upgrades add the new version's entry.
    assert set(table) == {VERSION}
    arches = {entry["arch"] for entry in ROLE_VARS["_k3s_common_arch_map"].values()}
    for version, sums in table.items():
        assert set(sums) == arches, version
        for arch, sha in sums.items():
            assert re.fullmatch(r"[0-9a-f]{64}", sha), (version, arch, sha)
    assert len({sha for sums in table.values() for sha in sums.values()}) == len(arches)


def test_url_install_with_defaults_and_example_inventory_demands_the_pinned_sha256(
    tmp_path, release_server
):
    """Example inventory + role defaults: the url install has a checksum and enforces it."""
    root, url = release_server
    served_sha = _publish(root, VERSION)
    result = _run(tmp_path, EXAMPLE_CLUSTER_VARS, k3s_release_url=url)
    out = _out(result)
    assert result.returncode != 0, out
    assert "No sha256 is known" not in out
    expected = ROLE_VARS["_k3s_common_checksums"][VERSION][ARCH]
    assert f"did not match {expected}; it was {served_sha}" in out
    assert not (tmp_path / "bin" / "k3s").exists()


def test_url_mode_with_an_unpinned_version_and_no_checksum_stops(tmp_path):
    result = _run(
        tmp_path,
        k3s_version=UNPINNED_VERSION,
        k3s_install_source="url",
    )
    assert result.returncode != 0
    out = _out(result)
    assert f"No sha256 is known for {BINARY} {UNPINNED_VERSION} ({ARCH})" in out
    assert "Set k3s_common_binary_sha256" in out
    assert not (tmp_path / "bin" / "k3s").exists()


def test_url_mode_trusting_the_release_sumfile_installs_a_matching_binary(tmp_path, release_server):
    root, url = release_server
    stand_in_sha = hashlib.sha256(STAND_IN).hexdigest()
    sumfile = f"{'0' * 64}  k3s-airgap-images-{ARCH}.tar.zst\n{stand_in_sha}  {BINARY}\n"
    _publish(root, UNPINNED_VERSION, sumfile=sumfile)
    result = _run(
        tmp_path,
        k3s_version=UNPINNED_VERSION,
        k3s_install_source="url",
        k3s_release_url=url,
        k3s_common_checksum_from_release=True,
    )
    assert result.returncode == 0, _out(result)
    assert (tmp_path / "bin" / "k3s").read_bytes() == STAND_IN
    assert "k3s restart needed: True" in _out(result)


def test_artifacts_mode_with_an_unpinned_version_and_no_sumfile_stops(tmp_path):
    _kit(tmp_path, UNPINNED_VERSION, listed_sha=None)
    result = _run(tmp_path, k3s_version=UNPINNED_VERSION, k3s_install_source="artifacts")
    assert result.returncode != 0
    assert f"Put the release's sha256sum-{ARCH}.txt" in _out(result)


def test_artifacts_mode_with_a_wrong_binary_stops(tmp_path):
    binary = _kit(tmp_path, VERSION, listed_sha="0" * 64)
    result = _run(tmp_path, k3s_version=VERSION, k3s_install_source="artifacts")
    actual = hashlib.sha256(binary.read_bytes()).hexdigest()
    assert result.returncode != 0
    # The kit's file loses to the shipped table for the pinned version.
    expected = ROLE_VARS["_k3s_common_checksums"][VERSION][ARCH]
    assert f"has sha256 {actual} but {expected} is expected" in _out(result)
    assert not (tmp_path / "bin" / "k3s").exists()
