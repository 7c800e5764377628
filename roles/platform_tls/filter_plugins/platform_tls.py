"""Subject alternative names of the platform's server certificates, on the standard library only."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ansible.errors import AnsibleFilterError

# A pool larger than this is not written into every certificate: the operator fixes the
# services' addresses (platform_load_balancer_ips) instead.
MAX_POOL_ADDRESSES = 256


def platform_tls_sans(values):
    """``IP:``/``DNS:`` entries for names and addresses, in order, without duplicates or blanks."""
    entries: list[str] = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        try:
            entry = f"IP:{ipaddress.ip_address(text)}"
        except ValueError:
            entry = f"DNS:{text.lower()}"
        if entry not in entries:
            entries.append(entry)
    return entries


def platform_tls_pool_addresses(pool):
    """Every address of MetalLB pool entries (CIDR, single address or first-last span)."""
    addresses: list[str] = []
    for item in pool or []:
        text = str(item).strip()
        try:
            if "-" in text:
                first, last = (ipaddress.IPv4Address(part.strip()) for part in text.split("-", 1))
                span = range(int(first), int(last) + 1)
            else:
                net = ipaddress.IPv4Network(text, strict=False)
                span = range(int(net.network_address), int(net.broadcast_address) + 1)
        except ValueError as exc:
            raise AnsibleFilterError(f"MetalLB pool entry '{text}' is not a range: {exc}") from exc
        if len(addresses) + len(span) > MAX_POOL_ADDRESSES:
            raise AnsibleFilterError(
                f"metallb_address_pool holds more than {MAX_POOL_ADDRESSES} addresses, too many to "
                "put on every server certificate: set platform_load_balancer_ips for airflow, "
                "mlflow, model_server and web_ui (or list extra names in platform_tls_extra_sans)."
            )
        addresses.extend(str(ipaddress.IPv4Address(n)) for n in span)
    return addresses


def platform_tls_expiring(names, directory, renew_days):
    """The names whose ``<name>.crt`` in directory is missing or expires within renew_days."""
    from cryptography import x509

    deadline = datetime.now(UTC) + timedelta(days=int(renew_days))
    expiring = []
    for name in names:
        path = Path(directory) / f"{name}.crt"
        if not path.is_file():
            expiring.append(name)
            continue
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        if cert.not_valid_after_utc <= deadline:
            expiring.append(name)
    return expiring


def platform_tls_bundle(names, directory):
    """``{'ca': PEM, 'certs': {name: {'cert': PEM, 'key': PEM}}}`` read from directory."""
    folder = Path(directory)
    return {
        "ca": (folder / "ca.crt").read_text(),
        "certs": {
            name: {
                "cert": (folder / f"{name}.crt").read_text(),
                "key": (folder / f"{name}.key").read_text(),
            }
            for name in names
        },
    }


class FilterModule:
    def filters(self):
        return {
            "platform_tls_sans": platform_tls_sans,
            "platform_tls_pool_addresses": platform_tls_pool_addresses,
            "platform_tls_bundle": platform_tls_bundle,
            "platform_tls_expiring": platform_tls_expiring,
        }
