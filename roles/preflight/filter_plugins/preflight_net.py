"""Address arithmetic for the preflight checks, on the standard library only.

Ranges are written as K3s and MetalLB accept them: a CIDR ("10.44.0.0/16"), a single address,
or an inclusive span ("192.168.1.240-192.168.1.250").
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible.errors import AnsibleFilterError

# Interfaces K3s and its CNI create on a node; their addresses come from the pod/service
# ranges, so they are not "host networks" that those ranges could clash with.
_CLUSTER_IFACE = re.compile(r"^(lo|cni\d*|flannel.*|kube-ipvs\d*|veth.*|cali.*|vxlan.*)$")


def _span(value):
    """Return (first, last) integer addresses of a range string, or raise a filter error."""
    text = str(value).strip()
    try:
        if "-" in text:
            first, last = (ipaddress.IPv4Address(part.strip()) for part in text.split("-", 1))
            if int(last) < int(first):
                raise ValueError("the end address is lower than the start address")
            return int(first), int(last)
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        raise AnsibleFilterError(f"'{text}' is not a valid IPv4 range: {exc}") from exc
    return int(net.network_address), int(net.broadcast_address)


def preflight_valid_cidr(value):
    """True when value is an IPv4 network in CIDR form with no host bits set."""
    try:
        ipaddress.IPv4Network(str(value).strip(), strict=True)
    except ValueError:
        return False
    return "/" in str(value)


def preflight_valid_range(value):
    """True when value is a CIDR, an address or a start-end span."""
    try:
        _span(value)
    except AnsibleFilterError:
        return False
    return True


def preflight_overlaps(first, second):
    """True when two ranges share at least one address."""
    a_first, a_last = _span(first)
    b_first, b_last = _span(second)
    return a_first <= b_last and b_first <= a_last


def preflight_overlapping(value, candidates):
    """The members of candidates that share an address with value."""
    return [item for item in candidates if preflight_overlaps(value, item)]


def preflight_invalid_ranges(values):
    """The members of values that are not valid ranges."""
    return [item for item in values if not preflight_valid_range(item)]


def preflight_hits(values, candidates):
    """The members of values that share an address with any of candidates."""
    return [item for item in values if preflight_overlapping(item, candidates)]


def preflight_misses(values, candidates):
    """The members of values that share no address with any of candidates."""
    return [item for item in values if not preflight_overlapping(item, candidates)]


def preflight_contains(outer, inner):
    """True when every address of inner lies inside outer."""
    o_first, o_last = _span(outer)
    i_first, i_last = _span(inner)
    return o_first <= i_first and i_last <= o_last


def _iface_addresses(facts):
    """Yield the IPv4 address dicts of a host's interfaces, without loopback and CNI devices."""
    for iface in facts.get("interfaces", []):
        if _CLUSTER_IFACE.match(iface):
            continue
        data = facts.get(iface.replace("-", "_").replace(".", "_"), {}) or {}
        for addr in [data.get("ipv4"), *(data.get("ipv4_secondaries") or [])]:
            if addr and addr.get("address") and addr.get("netmask"):
                yield addr


def preflight_host_networks(facts):
    """IPv4 networks ("net/prefix") of a host's interfaces, without loopback and CNI devices."""
    networks = []
    for addr in _iface_addresses(facts):
        net = str(ipaddress.IPv4Interface(f"{addr['address']}/{addr['netmask']}").network)
        if net not in networks:
            networks.append(net)
    return networks


def preflight_host_addresses(facts):
    """IPv4 addresses of a host's interfaces, without loopback and CNI devices."""
    found = []
    for addr in _iface_addresses(facts):
        if addr["address"] not in found:
            found.append(addr["address"])
    return found


def preflight_listeners(ss_output, proto):
    """Parse `ss -H -lnp` output into [{proto, port, process}] (process may be empty)."""
    listeners = []
    for line in str(ss_output).splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        local = fields[3]
        port = local.rsplit(":", 1)[-1]
        if not port.isdigit():
            continue
        match = re.search(r'users:\(\("([^"]+)"', line)
        listeners.append(
            {"proto": proto, "port": int(port), "process": match.group(1) if match else ""}
        )
    return listeners


def preflight_taken_ports(listeners, needed, owners_ok, ownerless_ok=()):
    """Lines naming each needed port that a foreign program holds.

    A listener is ours when its process is one of owners_ok (K3s, containerd, MetalLB's
    speaker), or when it has no owning process and its port is in ownerless_ok: the kernel's
    VXLAN socket of flannel has no process, so on a node where K3s runs it is ours too.
    """
    ownerless = {(int(item["port"]), item["proto"]) for item in ownerless_ok}
    lines = []
    for need in needed:
        key = (int(need["port"]), need["proto"])
        for held in listeners:
            if (held["port"], held["proto"]) != key or held["process"] in owners_ok:
                continue
            if not held["process"] and key in ownerless:
                continue
            line = (
                f"{need['port']}/{need['proto']} ({need['why']}) is held by "
                f"{held['process'] or 'an unknown process'}"
            )
            if line not in lines:
                lines.append(line)
    return lines


def preflight_vxlan_ports(ip_link_json, name_pattern=r"^flannel\."):
    """UDP ports of the VXLAN devices named like flannel's, from `ip -d -j link show type vxlan`."""
    try:
        links = json.loads(ip_link_json or "[]")
    except ValueError:
        return []
    ports = []
    for link in links:
        if not re.match(name_pattern, link.get("ifname", "")):
            continue
        port = link.get("linkinfo", {}).get("info_data", {}).get("port")
        if port:
            ports.append({"port": int(port), "proto": "udp"})
    return ports


class FilterModule:
    """Network and resource helpers for the preflight role."""

    def filters(self):
        return {
            "preflight_valid_cidr": preflight_valid_cidr,
            "preflight_valid_range": preflight_valid_range,
            "preflight_overlaps": preflight_overlaps,
            "preflight_overlapping": preflight_overlapping,
            "preflight_invalid_ranges": preflight_invalid_ranges,
            "preflight_hits": preflight_hits,
            "preflight_misses": preflight_misses,
            "preflight_contains": preflight_contains,
            "preflight_host_networks": preflight_host_networks,
            "preflight_host_addresses": preflight_host_addresses,
            "preflight_listeners": preflight_listeners,
            "preflight_taken_ports": preflight_taken_ports,
            "preflight_vxlan_ports": preflight_vxlan_ports,
        }
