"""The example inventory's cluster defaults: the values the issue fixes, one source for pins."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = yaml.safe_load((ROOT / "inventory/example/group_vars/all/cluster.yml").read_text())


def test_network_defaults():
    assert CLUSTER["k3s_cluster_cidr"] == "10.44.0.0/16"
    assert CLUSTER["k3s_service_cidr"] == "10.45.0.0/16"
    assert CLUSTER["k3s_cluster_dns"] == "10.45.0.10"
    assert sorted(CLUSTER["k3s_disable_components"]) == ["servicelb", "traefik"]
    assert CLUSTER["metallb_config_mode"] == "configmap"
    assert CLUSTER["metallb_address_pool"]


def test_versions_come_from_versions_yml_only():
    assert CLUSTER["k3s_version"] == "{{ appliance_versions.k3s }}"
    assert CLUSTER["metallb_version"] == "{{ appliance_versions.metallb }}"
    assert "versions.yml" in CLUSTER["appliance_versions"]
    pins = yaml.safe_load((ROOT / "versions.yml").read_text())
    # The published checksums are keyed by release: test_k3s_checksum.py keeps that table's
    # one entry equal to the pin, so it is the one file allowed to name it.
    checksum_table = ROOT / "roles/k3s_common/vars/main.yml"
    for path in (ROOT / "roles").rglob("*"):
        if path.is_file() and path.suffix in {".yml", ".j2"} and path != checksum_table:
            text = path.read_text()
            assert pins["k3s"] not in text, f"{path} hard-codes the K3s version"
            assert pins["metallb"] not in text, f"{path} hard-codes the MetalLB version"


def test_example_inventory_is_the_original_topology():
    hosts = yaml.safe_load((ROOT / "inventory/example/hosts.yml").read_text())
    children = hosts["k3s_cluster"]["children"]
    assert len(children["k3s_servers"]["hosts"]) == 1
    assert len(children["k3s_agents"]["hosts"]) == 1
