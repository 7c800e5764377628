"""ansible-playbook runs with this checkout's roles and no user configuration."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path
from types import ModuleType

import yaml

from testsupport.servers import BIN

REPO = Path(__file__).resolve().parents[1]


def ansible_env() -> dict[str, str]:
    """Environment for ansible-playbook runs: this checkout's roles, no user config."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


def ansible_playbook(
    playbook: Path, *args: str, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run ``playbook`` (from the repository root, so ansible.cfg applies) with ``args``;
    with ``check``, a failed run fails the caller with the run's output."""
    cmd = [str(BIN / "ansible-playbook"), *args, str(playbook)]
    proc = subprocess.run(
        cmd, env=ansible_env(), cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr}")
    return proc


def run_playbook(playbook: str, inventory: Path, *args: str, check: bool = True):
    """Run playbooks/<playbook> and return the CompletedProcess (stdout and stderr separate)."""
    return ansible_playbook(REPO / "playbooks" / playbook, "-i", str(inventory), *args, check=check)


def local_playbook(tmp: Path, name: str, play: dict) -> Path:
    """Write a playbook of one control-machine play (after platform_target.yml) into
    ``tmp``/playbooks, the way the repository's playbooks sit: the roles read files next to
    the playbook's directory (../pyproject.toml, ../versions.yml), linked here."""
    (tmp / "playbooks").mkdir(parents=True, exist_ok=True)
    for linked in ("pyproject.toml", "versions.yml"):
        if not (tmp / linked).exists():
            (tmp / linked).symlink_to(REPO / linked)
    playbook = tmp / "playbooks" / name
    base = {
        "hosts": "platform_control",
        "gather_facts": False,
        "vars_files": [str(REPO / "versions.yml")],
    }
    document = [
        {"ansible.builtin.import_playbook": str(REPO / "playbooks" / "platform_target.yml")},
        base | play | {"vars": {"ansible_connection": "local", **play.get("vars", {})}},
    ]
    playbook.write_text(yaml.safe_dump(document, sort_keys=False))
    return playbook


def recap(output: str) -> dict[str, int]:
    """Sum the counters of the PLAY RECAP lines of an ansible-playbook run."""
    totals: dict[str, int] = {}
    for line in output.split("PLAY RECAP", 1)[-1].splitlines():
        for key, value in re.findall(r"(\w+)=(\d+)", line):
            totals[key] = totals.get(key, 0) + int(value)
    return totals


def filter_plugin(role: str, name: str) -> ModuleType:
    """roles/<role>/filter_plugins/<name>.py imported as a module (plugins are no package)."""
    spec = importlib.util.spec_from_file_location(
        name, REPO / "roles" / role / "filter_plugins" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
