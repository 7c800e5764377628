"""Render the metallb role's templates with Ansible and check what would be applied.

The role is run in render-only mode (no Kubernetes API exists here) by ansible-playbook,
so the real role code and templates are exercised; the output is then checked for content
and validated against the Kubernetes 1.33 schemas with kubernetes-validate.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from testsupport.ansible import ansible_playbook

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSIONS = yaml.safe_load((ROOT / "versions.yml").read_text())


def render(tmp_path: Path, *inventories: Path, **extra) -> Path:
    """Render the metallb role (render only) into tmp_path/out; inventories add group_vars."""
    out = tmp_path / "out"
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        textwrap.dedent(
            """\
            - hosts: localhost
              connection: local
              gather_facts: false
              roles:
                - role: metallb
            """
        )
    )
    extra_vars = {
        "metallb_version": VERSIONS["metallb"],
        "metallb_config_mode": "configmap",
        "metallb_address_pool": ["192.168.50.240-192.168.50.250"],
        "metallb_render_only": True,
        "metallb_render_dir": str(out),
        "ansible_python_interpreter": sys.executable,
        **extra,
    }
    ansible_playbook(
        playbook,
        *(arg for inventory in inventories for arg in ("-i", str(inventory))),
        *("-i", "localhost,", "-e", json.dumps(extra_vars)),
        timeout=300,
    )
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("metallb"))


def _docs(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _find(docs, kind, name):
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def test_no_pod_security_policy_anywhere(rendered):
    docs = _docs(rendered / "metallb.yaml")
    assert all(d["kind"] != "PodSecurityPolicy" for d in docs)
    for role in (d for d in docs if d["kind"] in ("ClusterRole", "Role")):
        for rule in role["rules"]:
            assert "podsecuritypolicies" not in rule["resources"], role["metadata"]["name"]
    assert all(d["apiVersion"] != "policy/v1beta1" for d in docs)


def test_expected_objects_in_metallb_system(rendered):
    docs = _docs(rendered / "metallb.yaml")
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in docs)
    assert ("Namespace", "metallb-system") in kinds
    for kind, name in [
        ("ServiceAccount", "controller"),
        ("ServiceAccount", "speaker"),
        ("Role", "config-watcher"),
        ("Role", "pod-lister"),
        ("Role", "controller"),
        ("DaemonSet", "speaker"),
        ("Deployment", "controller"),
    ]:
        assert _find(docs, kind, name)["metadata"]["namespace"] == "metallb-system"


def test_speaker_runs_on_control_plane_with_memberlist(rendered):
    speaker = _find(_docs(rendered / "metallb.yaml"), "DaemonSet", "speaker")
    spec = speaker["spec"]["template"]["spec"]
    keys = {t["key"] for t in spec["tolerations"]}
    assert {"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"} <= keys
    assert spec["hostNetwork"] is True
    container = spec["containers"][0]
    assert container["image"] == f"quay.io/metallb/speaker:{VERSIONS['metallb']}"
    ports = {(p["containerPort"], p.get("protocol", "TCP")) for p in container["ports"]}
    assert {(7472, "TCP"), (7946, "TCP"), (7946, "UDP")} <= ports
    secret = next(e for e in container["env"] if e["name"] == "METALLB_ML_SECRET_KEY")
    assert secret["valueFrom"]["secretKeyRef"] == {"name": "memberlist", "key": "secretkey"}


def test_controller_creates_memberlist_secret_and_runs_unprivileged(rendered):
    controller = _find(_docs(rendered / "metallb.yaml"), "Deployment", "controller")
    spec = controller["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["METALLB_ML_SECRET_NAME"] == "memberlist"
    assert spec["securityContext"]["runAsUser"] == 65534
    assert spec["containers"][0]["image"] == f"quay.io/metallb/controller:{VERSIONS['metallb']}"


def test_configmap_holds_the_layer2_pool(rendered):
    (config_map,) = _docs(rendered / "metallb-config.yaml")
    assert config_map["kind"] == "ConfigMap"
    assert config_map["metadata"] == {"namespace": "metallb-system", "name": "config"}
    pools = yaml.safe_load(config_map["data"]["config"])["address-pools"]
    assert pools == [
        {"name": "default", "protocol": "layer2", "addresses": ["192.168.50.240-192.168.50.250"]}
    ]


def test_registry_mirror_replaces_the_registry_host(tmp_path):
    out = render(tmp_path, platform_registry_mirror="registry.example.lan:5000")
    docs = _docs(out / "metallb.yaml")
    speaker = _find(docs, "DaemonSet", "speaker")["spec"]["template"]["spec"]["containers"][0]
    controller = _find(docs, "Deployment", "controller")["spec"]["template"]["spec"]
    assert speaker["image"] == f"registry.example.lan:5000/metallb/speaker:{VERSIONS['metallb']}"
    assert controller["containers"][0]["image"] == (
        f"registry.example.lan:5000/metallb/controller:{VERSIONS['metallb']}"
    )


def test_crd_mode_renders_pool_and_advertisement(tmp_path):
    manifest = tmp_path / "metallb-native.yaml"
    manifest.write_text("# stand-in for the upstream manifest; only its presence is checked\n")
    out = render(
        tmp_path,
        metallb_config_mode="crd",
        metallb_version="v0.14.9",
        metallb_crd_manifest=str(manifest),
    )
    pool, advert = _docs(out / "metallb-config.yaml")
    assert pool["kind"] == "IPAddressPool"
    assert pool["spec"]["addresses"] == ["192.168.50.240-192.168.50.250"]
    assert advert["kind"] == "L2Advertisement"
    assert advert["spec"]["ipAddressPools"] == [pool["metadata"]["name"]]
    assert not (out / "metallb.yaml").exists()


def test_configmap_mode_refuses_crd_versions(tmp_path):
    with pytest.raises(AssertionError, match=r"0\.12\.x"):
        render(tmp_path, metallb_version="v0.14.9")


def test_manifests_validate_against_kubernetes_1_33(rendered):
    result = subprocess.run(
        [
            str(BIN / "kubernetes-validate"),
            "-k",
            "1.33.0",
            "--strict",
            str(rendered / "metallb.yaml"),
            str(rendered / "metallb-config.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
