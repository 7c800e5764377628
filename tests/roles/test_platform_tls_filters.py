"""The SAN and expiry filters of the platform_tls role."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

_PATH = Path(__file__).resolve().parents[2] / "roles/platform_tls/filter_plugins/platform_tls.py"
_SPEC = importlib.util.spec_from_file_location("platform_tls_filters", _PATH)
tls = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(tls)


def test_sans_mark_addresses_and_names_once():
    assert tls.platform_tls_sans(["web-ui", "10.0.0.5", "", " Web-UI ", "10.0.0.5", "::1"]) == [
        "DNS:web-ui",
        "IP:10.0.0.5",
        "IP:::1",
    ]


def test_pool_addresses_expand_spans_cidrs_and_single_addresses():
    got = tls.platform_tls_pool_addresses(["10.0.0.1-10.0.0.3", "10.0.1.0/31", "10.0.2.9"])
    assert got == ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.1.0", "10.0.1.1", "10.0.2.9"]


def test_pool_too_large_asks_for_fixed_addresses():
    assert len(tls.platform_tls_pool_addresses(["10.0.0.0/24"])) == 256
    with pytest.raises(AnsibleFilterError, match="platform_load_balancer_ips"):
        tls.platform_tls_pool_addresses(["10.0.0.0/24", "10.0.1.1"])
    with pytest.raises(AnsibleFilterError, match="not a range"):
        tls.platform_tls_pool_addresses(["10.0.0.9-nope"])
