"""The preflight role's address arithmetic (roles/preflight/filter_plugins/preflight_net.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location(
    "preflight_net", ROOT / "roles/preflight/filter_plugins/preflight_net.py"
)
net = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(net)


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
