"""The platform_tls role, run for real on this machine through render.yml and alone (control
node only)."""

from __future__ import annotations

import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from testsupport.ansible import ansible_playbook, local_playbook, recap

from . import policy

SERVICES = {
    "postgresql": "postgresql",
    "s3": "seaweedfs",
    "mlflow": "mlflow",
    "airflow_api": "airflow-api-server",
    "model_server": "model-server",
    "web_ui": "web-ui",
    "prometheus": "prometheus",
    "grafana": "grafana",
}
NODES = ["192.0.2.10", "192.0.2.11"]


def _tls(rendered) -> Path:
    return rendered.inventory / "secrets" / "tls"


def _sans(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(v) for v in ext.get_values_for_type(x509.DNSName)} | {
        str(v) for v in ext.get_values_for_type(x509.IPAddress)
    }


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_certificate_verifies_against_the_ca_with_openssl(rendered, name):
    tls = _tls(rendered)
    proc = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tls / "ca.crt"), str(tls / f"{name}.crt")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith(": OK"), proc.stdout + proc.stderr
    purpose = subprocess.run(
        ["openssl", "x509", "-in", str(tls / f"{name}.crt"), "-noout", "-purpose"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "SSL server : Yes" in purpose
    assert "SSL server CA : No" in purpose


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_certificates_name_the_service_dns_names(rendered, name):
    svc = SERVICES[name]
    sans = _sans(_tls(rendered) / f"{name}.crt")
    assert {svc, f"{svc}.mlops", f"{svc}.mlops.svc", f"{svc}.mlops.svc.cluster.local"} <= sans


def test_exposed_services_name_the_nodes_and_their_metallb_address(rendered):
    tls = _tls(rendered)
    # Fixed addresses in the fixture inventory: web_ui .241, mlflow .242.
    web = _sans(tls / "web_ui.crt")
    assert set(NODES) <= web and "192.0.2.241" in web and "192.0.2.242" not in web
    assert "192.0.2.242" in _sans(tls / "mlflow.crt")
    # No fixed address: any address of the pool may be handed out.
    pool = {f"192.0.2.{n}" for n in range(240, 251)}
    assert pool <= _sans(tls / "model_server.crt")
    # The monitoring role's exposed Services too (monitoring_load_balancer_ips unset).
    assert set(NODES) | pool <= _sans(tls / "grafana.crt")
    # In-cluster only: no node or LAN address.
    assert not (set(NODES) | pool) & _sans(tls / "postgresql.crt")


def test_keys_private_ca_exported_next_to_the_kubeconfig(rendered):
    tls = _tls(rendered)
    assert stat.S_IMODE(tls.stat().st_mode) == 0o700
    for key in tls.glob("*.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    exported = rendered.inventory / "secrets" / "appliance-ca.crt"
    assert exported.read_bytes() == (tls / "ca.crt").read_bytes()
    assert stat.S_IMODE(exported.stat().st_mode) == 0o644
    ca = x509.load_pem_x509_certificate(exported.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # No key or certificate lands in the render directory.
    assert not list(rendered.dir.rglob("*.key"))


def _reissue_expiring(tls: Path, name: str, days: int) -> None:
    """Replace <name>.crt by one the CA signed that expires in ``days`` days."""
    ca_key = serialization.load_pem_private_key((tls / "ca.key").read_bytes(), None)
    ca = x509.load_pem_x509_certificate((tls / "ca.crt").read_bytes())
    old = x509.load_pem_x509_certificate((tls / f"{name}.crt").read_bytes())
    key = serialization.load_pem_private_key((tls / f"{name}.key").read_bytes(), None)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
    )
    for ext in old.extensions:
        if not isinstance(ext.value, x509.AuthorityKeyIdentifier):
            builder = builder.add_extension(ext.value, ext.critical)
    cert = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
    ).sign(ca_key, hashes.SHA256())
    (tls / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _certificates(inventory: Path, tmp: Path):
    """The role alone (with the roles it depends on), as render.yml runs it."""
    (tmp / "out").mkdir(exist_ok=True)
    playbook = local_playbook(
        tmp,
        "certificates.yml",
        {
            "name": "The appliance CA and the server certificates",
            # The image tag is given: no build context here.
            "vars": {"platform_render_dir": str(tmp / "out"), "platform_app_image_tag": "tls-test"},
            "roles": [{"role": "platform_tls"}],
        },
    )
    return ansible_playbook(playbook, "-i", str(inventory))


def test_rerun_changes_nothing_and_renews_only_what_expires_within_30_days(rendered, tmp_path):
    inventory = tmp_path / "inventory"
    shutil.copytree(rendered.inventory, inventory)
    tls = inventory / "secrets" / "tls"
    _reissue_expiring(tls, "model_server", days=29)
    _reissue_expiring(tls, "web_ui", days=31)
    before = {path.name: path.read_bytes() for path in tls.iterdir()}

    renewed = _certificates(inventory, tmp_path)
    assert recap(renewed.stdout)["changed"] >= 1
    after = {path.name: path.read_bytes() for path in tls.iterdir()}
    assert [name for name in sorted(after) if after[name] != before[name]] == ["model_server.crt"]
    cert = x509.load_pem_x509_certificate(after["model_server.crt"])
    assert cert.not_valid_after_utc > datetime.now(UTC) + timedelta(days=300)

    again = _certificates(inventory, tmp_path)
    assert recap(again.stdout)["changed"] == 0, again.stdout[-3000:]
    assert {path.name: path.read_bytes() for path in tls.iterdir()} == after


def test_the_cluster_gets_a_tls_secret_per_service_and_the_ca(rendered):
    """01-tls: the Secrets the servers mount hold the role's files; the CA ConfigMap is public."""
    render, tls = rendered, _tls(rendered)
    (config_map,) = [d for d in render.files["01-tls.yaml"] if d["kind"] == "ConfigMap"]
    assert config_map["metadata"]["name"] == "platform-ca"
    assert config_map["data"] == {"ca.crt": (tls / "ca.crt").read_text()}
    redacted = [d for d in render.files["01-tls.yaml"] if d["kind"] == "Secret"]
    assert {d["metadata"]["name"] for d in redacted} == {f"{s}-tls" for s in SERVICES.values()}
    assert all(d["type"] == "kubernetes.io/tls" for d in redacted)
    real = yaml.safe_load_all((render.dir / "secrets" / "01-tls.yaml").read_text())
    by_name = {d["metadata"]["name"]: d["stringData"] for d in real if d}
    for key, service in SERVICES.items():
        assert by_name[f"{service}-tls"] == {
            "tls.crt": (tls / f"{key}.crt").read_text(),
            "tls.key": (tls / f"{key}.key").read_text(),
        }, service


def test_without_tls_nothing_is_rendered_for_it(rendered_nodeport):
    """platform_tls_enabled=false: no TLS objects, mounts, HTTPS probes or https service URLs."""
    assert "01-tls.yaml" not in rendered_nodeport.files
    for owner, _, spec in policy.pod_specs(rendered_nodeport.docs):
        where = f"{owner['kind']}/{owner['metadata']['name']}"
        for volume in spec.get("volumes", []):
            assert volume.get("configMap", {}).get("name") != "platform-ca", where
            assert not volume.get("secret", {}).get("secretName", "").endswith("-tls"), where
        for container in spec["containers"] + spec.get("initContainers", []):
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                scheme = container.get(probe, {}).get("httpGet", {}).get("scheme", "HTTP")
                assert scheme == "HTTP", where
            for entry in container.get("env", []):
                value = str(entry.get("value", ""))
                assert "/etc/platform-" not in value and "https://" not in value, (where, entry)
