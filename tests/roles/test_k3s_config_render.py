"""Render the k3s_server / k3s_agent config.yaml templates for whole topologies.

The real templates, role defaults and example group_vars are rendered by ansible-playbook for
an inventory of fake hosts (nothing is installed), so the HA layout that Molecule cannot
afford (three servers) is checked too: cluster-init on the first server, `server:` on the
others, and agents joining the first server's address.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from testsupport.ansible import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]


def _render(tmp_path: Path, servers: int, agents: int, extra: str = "") -> dict[str, dict]:
    out = tmp_path / "out"
    out.mkdir()
    hosts = {
        "k3s_cluster": {
            "children": {
                "k3s_servers": {
                    "hosts": {f"s{i}": {"test_ip": f"192.168.1.{10 + i}"} for i in range(servers)}
                },
                "k3s_agents": {
                    "hosts": {f"a{i}": {"test_ip": f"192.168.1.{50 + i}"} for i in range(agents)}
                },
            },
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        }
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump(hosts))
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        textwrap.dedent(
            f"""\
            - hosts: k3s_cluster
              gather_facts: false
              vars_files:
                - {ROOT}/inventory/example/group_vars/all/cluster.yml
                - {ROOT}/roles/k3s_server/defaults/main.yml
                - {ROOT}/roles/k3s_agent/defaults/main.yml
              tasks:
                - name: Use the test address as node IP
                  ansible.builtin.set_fact:
                    k3s_node_ip: "{{{{ test_ip }}}}"
                    {extra}
                - name: Render the config of each node
                  delegate_to: localhost
                  ansible.builtin.copy:
                    dest: "{out}/{{{{ inventory_hostname }}}}.yaml"
                    mode: "0600"
                    content: >-
                      {{{{ lookup('ansible.builtin.template',
                          '{ROOT}/roles/' ~ ('k3s_server'
                          if inventory_hostname in groups['k3s_servers'] else 'k3s_agent')
                          ~ '/templates/config.yaml.j2') }}}}
            """
        )
    )
    ansible_playbook(playbook, "-i", str(inventory), timeout=300)
    return {path.stem: yaml.safe_load(path.read_text()) for path in out.glob("*.yaml")}


@pytest.fixture(scope="module")
def ha(tmp_path_factory):
    return _render(tmp_path_factory.mktemp("ha"), servers=3, agents=2)


def test_ha_first_server_initialises_etcd(ha):
    first = ha["s0"]
    assert first["cluster-init"] is True
    assert "server" not in first
    assert first["cluster-cidr"] == "10.44.0.0/16"
    assert first["service-cidr"] == "10.45.0.0/16"
    assert first["cluster-dns"] == "10.45.0.10"
    assert first["write-kubeconfig-mode"] == "0600"
    assert first["token-file"] == "/etc/rancher/k3s/token"
    assert first["selinux"] is False
    assert first["secrets-encryption"] is True


def test_ha_other_servers_join_the_first_with_identical_settings(ha):
    keys = ("cluster-cidr", "service-cidr", "cluster-dns", "disable", "secrets-encryption")
    for name in ("s1", "s2"):
        config = ha[name]
        assert config["server"] == "https://192.168.1.10:6443"
        assert "cluster-init" not in config
        assert config["node-ip"] == f"192.168.1.{10 + int(name[1])}"
        assert {k: config[k] for k in keys} == {k: ha["s0"][k] for k in keys}


def test_agents_join_the_first_server_and_carry_no_server_settings(ha):
    for name in ("a0", "a1"):
        config = ha[name]
        assert config["server"] == "https://192.168.1.10:6443"
        assert config["node-ip"] == f"192.168.1.{50 + int(name[1])}"
        assert config["token-file"] == "/etc/rancher/k3s/token"
        assert "cluster-cidr" not in config
        assert "token" not in config
        assert "secrets-encryption" not in config


def test_single_server_uses_no_embedded_etcd(tmp_path):
    configs = _render(tmp_path, servers=1, agents=1)
    assert "cluster-init" not in configs["s0"]
    assert "server" not in configs["s0"]
    assert configs["s0"]["tls-san"] == ["192.168.1.10"]
    assert configs["a0"]["server"] == "https://192.168.1.10:6443"


def test_node_names_and_no_flannel_iface_by_default(ha):
    assert ha["s1"]["node-name"] == "s1"
    assert ha["a1"]["node-name"] == "a1"
    assert "flannel-iface" not in ha["s0"]
    assert "flannel-iface" not in ha["a0"]


def test_multi_nic_nodes_get_flannel_iface_on_servers_and_agents(tmp_path):
    configs = _render(tmp_path, servers=1, agents=1, extra="k3s_flannel_iface: eth1")
    assert configs["s0"]["flannel-iface"] == "eth1"
    assert configs["a0"]["flannel-iface"] == "eth1"


def test_embedded_etcd_servers_snapshot_on_a_schedule_with_retention(ha):
    for name in ("s0", "s1", "s2"):
        assert ha[name]["etcd-snapshot-schedule-cron"] == "0 */6 * * *"
        assert ha[name]["etcd-snapshot-retention"] == 28
    assert "etcd-snapshot-schedule-cron" not in ha["a0"]


def test_etcd_snapshot_settings_follow_the_inventory_and_need_etcd(tmp_path):
    # Two set_fact keys: the second line carries the template's indentation.
    extra = "k3s_server_etcd_snapshot_schedule_cron: '30 2 * * *'\n" + " " * 20
    extra += "k3s_server_etcd_snapshot_retention: 7"
    (tmp_path / "ha").mkdir()
    (tmp_path / "one").mkdir()
    configs = _render(tmp_path / "ha", servers=3, agents=0, extra=extra)
    assert configs["s1"]["etcd-snapshot-schedule-cron"] == "30 2 * * *"
    assert configs["s1"]["etcd-snapshot-retention"] == 7
    single = _render(tmp_path / "one", servers=1, agents=0)
    assert not any(key.startswith("etcd-snapshot") for key in single["s0"])
