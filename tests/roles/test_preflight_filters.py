"""The preflight role's address arithmetic (roles/preflight/filter_plugins/preflight_net.py)."""

from __future__ import annotations

import pytest

from testsupport.ansible import filter_plugin

net = filter_plugin("preflight", "preflight_net")


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("10.44.0.0/16", "10.45.0.0/16", False),
        ("10.44.0.0/15", "10.45.0.0/16", True),
        ("10.43.100.240-10.43.100.250", "10.43.0.0/16", True),
        ("10.43.100.240-10.43.100.250", "10.43.100.251", False),
        ("10.43.100.250", "10.43.100.240-10.43.100.250", True),
    ],
)
def test_overlaps(first, second, overlap):
    assert net.preflight_overlaps(first, second) is overlap
    assert net.preflight_overlaps(second, first) is overlap


@pytest.mark.parametrize(
    ("value", "valid"),
    [("10.44.0.0/16", True), ("10.44.0.1/16", False), ("10.44.0.0", False), ("x/16", False)],
)
def test_valid_cidr(value, valid):
    assert net.preflight_valid_cidr(value) is valid


def test_invalid_ranges_lists_reversed_and_garbage():
    pool = ["10.0.0.1-10.0.0.9", "10.0.0.9-10.0.0.1", "nonsense", "10.0.0.0/28"]
    assert net.preflight_invalid_ranges(pool) == ["10.0.0.9-10.0.0.1", "nonsense"]


def test_contains_dns_in_service_range():
    assert net.preflight_contains("10.45.0.0/16", "10.45.0.10")
    assert not net.preflight_contains("10.45.0.0/16", "10.46.0.10")


def test_hits_and_misses():
    nets = ["192.168.1.0/24"]
    pool = ["192.168.1.240-192.168.1.250", "192.168.2.10"]
    assert net.preflight_hits(pool, nets) == ["192.168.1.240-192.168.1.250"]
    assert net.preflight_misses(pool, nets) == ["192.168.2.10"]


def test_host_networks_skip_loopback_and_cni():
    facts = {
        "interfaces": ["lo", "eth0", "cni0", "flannel.1"],
        "lo": {"ipv4": {"address": "127.0.0.1", "netmask": "255.0.0.0"}},
        "eth0": {
            "ipv4": {"address": "10.43.100.94", "netmask": "255.255.255.0"},
            "ipv4_secondaries": [{"address": "10.43.101.5", "netmask": "255.255.255.0"}],
        },
        "cni0": {"ipv4": {"address": "10.44.0.1", "netmask": "255.255.255.0"}},
        "flannel_1": {"ipv4": {"address": "10.44.0.0", "netmask": "255.255.255.255"}},
    }
    assert net.preflight_host_networks(facts) == ["10.43.100.0/24", "10.43.101.0/24"]
    assert net.preflight_host_addresses(facts) == ["10.43.100.94", "10.43.101.5"]


def test_listeners_parse_ss_output():
    out = (
        'LISTEN 0 4096 0.0.0.0:10250 0.0.0.0:* users:(("python3",pid=7,fd=3))\n'
        "LISTEN 0 4096 [::]:6443 [::]:*\n"
    )
    assert net.preflight_listeners(out, "tcp") == [
        {"proto": "tcp", "port": 10250, "process": "python3"},
        {"proto": "tcp", "port": 6443, "process": ""},
    ]


SERVER_NEEDS = [
    {"port": 6443, "proto": "tcp", "why": "K3s API server"},
    {"port": 8472, "proto": "udp", "why": "flannel VXLAN"},
]
OURS = ["k3s", "k3s-server", "containerd", "speaker"]
# `ss -H -u -l -n -p` on a node where flannel runs: the VXLAN socket has no process.
FLANNEL_UDP = "UNCONN 0 0 0.0.0.0:8472 0.0.0.0:*\n"
# `ip -d -j link show type vxlan` (trimmed) on the same node.
FLANNEL_LINKS = (
    '[{"ifindex":5,"ifname":"flannel.1","linkinfo":{"info_kind":"vxlan",'
    '"info_data":{"id":1,"port":8472}}}]'
)


def test_flannel_kernel_socket_is_ours_where_k3s_runs():
    listeners = net.preflight_listeners(FLANNEL_UDP, "udp")
    ownerless = net.preflight_vxlan_ports(FLANNEL_LINKS)
    assert ownerless == [{"port": 8472, "proto": "udp"}]
    assert net.preflight_taken_ports(listeners, SERVER_NEEDS, OURS, ownerless) == []


def test_ownerless_socket_without_a_flannel_device_is_refused():
    listeners = net.preflight_listeners(FLANNEL_UDP, "udp")
    other_vxlan = FLANNEL_LINKS.replace("flannel.1", "vxlan-lab")
    assert net.preflight_vxlan_ports(other_vxlan) == []
    assert net.preflight_taken_ports(listeners, SERVER_NEEDS, OURS, []) == [
        "8472/udp (flannel VXLAN) is held by an unknown process"
    ]


def test_a_named_foreign_program_is_refused_even_on_an_ownerless_port():
    out = 'UNCONN 0 0 0.0.0.0:8472 0.0.0.0:* users:(("socat",pid=9,fd=3))\n'
    taken = net.preflight_taken_ports(
        net.preflight_listeners(out, "udp"), SERVER_NEEDS, OURS, [{"port": 8472, "proto": "udp"}]
    )
    assert taken == ["8472/udp (flannel VXLAN) is held by socat"]


def test_k3s_itself_holds_the_api_port():
    out = 'LISTEN 0 4096 *:6443 *:* users:(("k3s-server",pid=7,fd=3))\n'
    assert net.preflight_taken_ports(net.preflight_listeners(out, "tcp"), SERVER_NEEDS, OURS) == []


def test_vxlan_ports_survive_garbage():
    assert net.preflight_vxlan_ports("") == []
    assert net.preflight_vxlan_ports("not json") == []
