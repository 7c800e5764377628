"""Filters that turn inventory addresses and URLs into NetworkPolicy peers and ports."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

ANYWHERE = "0.0.0.0/0"


def platform_host_cidrs(hosts, outside_of=()):
    """ipBlock peers for a list of hosts: one /32 (/128) per address.

    A NetworkPolicy cannot name a host: when any host is a DNS name, the peer is every address
    outside the cluster's own ranges (outside_of), which still keeps the pods unreachable.
    """
    outside = {"cidr": ANYWHERE, "except": list(outside_of)} if outside_of else {"cidr": ANYWHERE}
    cidrs = []
    for host in (str(h).strip("[]") for h in hosts if str(h)):
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return [outside]
        cidrs.append({"cidr": f"{address}/{address.max_prefixlen}"})
    return cidrs or [outside]


def _refuse(url: str, variable: str, why: str) -> ValueError:
    return ValueError(
        f"{variable} must be the http(s) URL of the external data API, such as "
        f"http://10.0.0.5:8080 (got {url!r}: {why}); set it in "
        "inventory/<site>/group_vars/all/platform.yml"
    )


def platform_url_host(url: str, variable: str = "the URL") -> str:
    host = urlsplit(url).hostname
    if not host:
        raise _refuse(url, variable, "it has no host")
    return host


def platform_url_port(url: str, variable: str = "the URL") -> int:
    """The TCP port a URL connects to (its explicit port, else the scheme's)."""
    parts = urlsplit(url)
    defaults = {"http": 80, "https": 443}
    if parts.scheme not in defaults:
        raise _refuse(url, variable, "it must start with http:// or https://")
    return parts.port or defaults[parts.scheme]


class FilterModule:
    def filters(self):
        return {
            "platform_host_cidrs": platform_host_cidrs,
            "platform_url_host": platform_url_host,
            "platform_url_port": platform_url_port,
        }
