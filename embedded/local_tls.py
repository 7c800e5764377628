"""The embedded platform's own CA and loopback certificate (secure mode, ``APPLIANCE_SECURE``).

Made once into ``<state>/tls`` (directory 0700, keys 0600) and reused; a certificate that
expires within ``RENEW_DAYS`` is re-issued by the next ``up``. The cluster's equivalent is the
platform_tls role; this one names only what a single machine's clients use: ``localhost`` and
``127.0.0.1``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
CERT_DAYS = 397
RENEW_DAYS = 30


def _write_private(path: Path, data: bytes, mode: int) -> None:
    """Write through a temporary file so no half-written key or certificate is ever read."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    path.chmod(mode)


def _key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SystemExit(f"{path} is not an EC private key: remove it and run up again")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_private(path, pem, 0o600)
    return key


def _valid_for(path: Path, days: int, issuer: x509.Certificate | None = None) -> bool:
    """The certificate exists, outlives the renewal window and (if given) is signed by issuer."""
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    left = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    if left < dt.timedelta(days=days):
        return False
    return issuer is None or cert.issuer == issuer.subject


def _issue(subject_key, subject: x509.Name, issuer_key, issuer: x509.Name, days: int, ca: bool):
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
    )
    if ca:
        usage = {"key_cert_sign": True, "crl_sign": True, "digital_signature": False}
    else:
        usage = {"key_cert_sign": False, "crl_sign": False, "digital_signature": True}
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    builder = builder.add_extension(
        x509.KeyUsage(
            content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, encipher_only=False, decipher_only=False, **usage,
        ),
        critical=True,
    )  # fmt: skip
    return builder.sign(issuer_key, hashes.SHA256())


def ensure_tls(state: Path) -> dict[str, Path]:
    """The CA and the loopback server certificate, made or renewed as needed.

    Returns the paths: ``ca`` (give it to clients), ``cert`` and ``key`` (the servers').
    """
    directory = state / "tls"
    directory.mkdir(mode=0o700, exist_ok=True)
    directory.chmod(0o700)
    paths = {
        "ca": directory / "ca.crt",
        "cert": directory / "server.crt",
        "key": directory / "server.key",
    }
    ca_key = _key(directory / "ca.key")
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "house-price appliance local CA")])
    renewed_ca = False
    if not _valid_for(paths["ca"], RENEW_DAYS):
        ca_cert = _issue(ca_key, ca_name, ca_key, ca_name, CA_DAYS, ca=True)
        _write_private(paths["ca"], ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        renewed_ca = True
    ca_cert = x509.load_pem_x509_certificate(paths["ca"].read_bytes())
    server_key = _key(paths["key"])
    if renewed_ca or not _valid_for(paths["cert"], RENEW_DAYS, issuer=ca_cert):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        cert = _issue(server_key, name, ca_key, ca_cert.subject, CERT_DAYS, ca=False)
        _write_private(paths["cert"], cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return paths
