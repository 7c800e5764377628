"""Render host_prep's sysctl template: kernels with IPv6 disabled get no net.ipv6 keys.

With IPv6 switched off on the kernel command line /proc/sys/net/ipv6 does not exist, and one
net.ipv6 line makes `sysctl -p` fail for the whole file.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from testsupport.ansible import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]


def _render_sysctl(tmp_path: Path, has_ipv6: bool) -> str:
    out = tmp_path / "sysctl.conf"
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        textwrap.dedent(
            f"""\
            - hosts: localhost
              connection: local
              gather_facts: false
              vars_files:
                - {ROOT}/roles/host_prep/defaults/main.yml
              vars:
                _host_prep_has_ipv6: {str(has_ipv6).lower()}
              tasks:
                - name: Render the sysctl file
                  ansible.builtin.copy:
                    dest: {out}
                    mode: "0644"
                    content: "{{{{ lookup('ansible.builtin.template',
                      '{ROOT}/roles/host_prep/templates/sysctl-k3s.conf.j2') }}}}"
            """
        )
    )
    ansible_playbook(
        playbook,
        *("-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}"),
        timeout=120,
    )
    return out.read_text()


@pytest.mark.parametrize("has_ipv6", [True, False])
def test_ipv6_keys_only_where_the_kernel_has_ipv6(tmp_path, has_ipv6):
    text = _render_sysctl(tmp_path, has_ipv6)
    assert "net.ipv4.ip_forward = 1" in text
    assert "net.bridge.bridge-nf-call-iptables = 1" in text
    assert ("net.ipv6.conf.all.forwarding = 1" in text) is has_ipv6
