"""The NetworkPolicy peer helpers (roles/platform/filter_plugins/platform_network.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location(
    "platform_network", ROOT / "roles/platform/filter_plugins/platform_network.py"
)
net = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(net)

CLUSTER = ["10.42.0.0/16", "10.43.0.0/16"]


def test_addresses_become_single_host_blocks():
    assert net.platform_host_cidrs(["192.0.2.10", "2001:db8::1"], CLUSTER) == [
        {"cidr": "192.0.2.10/32"},
        {"cidr": "2001:db8::1/128"},
    ]


def test_a_host_name_means_anywhere_outside_the_cluster():
    assert net.platform_host_cidrs(["192.0.2.10", "api.example.lan"], CLUSTER) == [
        {"cidr": "0.0.0.0/0", "except": CLUSTER}
    ]
    assert net.platform_host_cidrs([], CLUSTER) == [{"cidr": "0.0.0.0/0", "except": CLUSTER}]


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        ("http://10.43.100.94:8080", "10.43.100.94", 8080),
        ("https://data.example.lan/v1", "data.example.lan", 443),
        ("http://[2001:db8::5]/", "2001:db8::5", 80),
    ],
)
def test_url_host_and_port(url, host, port):
    assert net.platform_url_host(url) == host
    assert net.platform_url_port(url) == port


def test_a_url_without_scheme_or_host_is_refused():
    with pytest.raises(ValueError, match="http:// or https://"):
        net.platform_url_port("ftp://x/")
    with pytest.raises(ValueError, match="has no host"):
        net.platform_url_host("10.0.0.5:8080")
    with pytest.raises(ValueError, match=r"^platform_data_api_url must be the http\(s\) URL"):
        net.platform_url_port("ftp://x:21/", "platform_data_api_url")
