"""Molecule's containers, reached with nsenter instead of ``podman exec`` (test harness only).

Every ``podman exec`` starts the podman CLI, conmon and runc: about a second of CPU per task
on this project's 2-core machines, which made Ansible's connection the largest cost of the
Molecule scenarios. Entering the namespaces of the container's init directly costs a
fraction of that; the modules run the same way inside the container (its file system,
systemd, network and process table). Like ``podman exec``, the command sees the container's
environment, not the controller's (an SSH login on a real node would not see it either).

The container's PID is looked up with ``podman inspect`` once and cached beside the scenario
(MOLECULE_EPHEMERAL_DIRECTORY), keyed with the process's start time so that a restarted
container is looked up again.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from ansible.errors import AnsibleConnectionFailure
from ansible_collections.community.docker.plugins.connection.nsenter import (
    Connection as NsenterConnection,
)

DOCUMENTATION = r"""
name: podman_nsenter
short_description: run tasks in a local podman container through nsenter (Molecule tests)
description:
  - The host's name is the container's name; needs root on the machine running podman.
author: house-price appliance tests
options: {}
"""

#: The environment ``podman exec`` gives a command in the Debian 12 test image.
CONTAINER_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "container": "podman",
}


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def container_pid(name: str) -> int:
    cache = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY") or tempfile.gettempdir())
    cache = cache / "nsenter-pids" / name
    try:
        pid, started = cache.read_text().split()
        if _start_time(int(pid)) == started:
            return int(pid)
    except (OSError, ValueError):
        pass
    inspect = subprocess.run(
        ["podman", "inspect", "--type=container", "--format={{.State.Pid}}", name],
        capture_output=True,
        text=True,
        check=False,
    )
    pid = int(inspect.stdout.strip() or 0) if inspect.returncode == 0 else 0
    started = _start_time(pid) if pid > 0 else None
    if started is None:
        raise AnsibleConnectionFailure(
            f"container {name} is not running (podman inspect: {inspect.stderr.strip() or pid})"
        )
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".{os.getpid()}")
    partial.write_text(f"{pid} {started}\n")
    partial.replace(cache)
    return pid


class Connection(NsenterConnection):
    transport = "podman_nsenter"

    def _connect(self):
        if not self._connected:
            self._nsenter_pid = container_pid(self._play_context.remote_addr)
            self._play_context.remote_user = "root"
            self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self._connect()  # with the controller's environment (it names the scenario's directory)
        controller_env = os.environ.copy()
        os.environ.clear()
        os.environ.update(CONTAINER_ENV)
        try:
            return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        finally:
            os.environ.clear()
            os.environ.update(controller_env)
