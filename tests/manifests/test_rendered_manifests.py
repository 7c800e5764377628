"""Render every manifest of the fixture inventory with playbooks/render.yml and police it.

There is no Kubernetes API on the test machines: these tests prove what can be proved offline
(schema validity for Kubernetes 1.33 in strict mode, and the platform's own rules).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testsupport.render import REGISTRY_MIRROR

from . import policy
from .conftest import REPO

VERSIONS = yaml.safe_load((REPO / "versions.yml").read_text())
APP_TAG = subprocess.run(
    [sys.executable, str(REPO / "scripts" / "context_hash.py"), "--tag"],
    capture_output=True,
    text=True,
    check=True,
).stdout.strip()
APP_IMAGE = f"localhost/house-price-appliance:{APP_TAG}"
MONITORING_IMAGES = ("prometheus", "grafana", "statsd_exporter")


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_containers(doc):
    spec = doc["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_every_component_is_rendered(rendered):
    assert sorted(rendered.files) == [
        "00-namespace.yaml",
        "01-tls.yaml",
        "05-network-policies.yaml",
        "10-postgresql.yaml",
        "20-seaweedfs.yaml",
        "30-mlflow.yaml",
        "40-airflow.yaml",
        "50-model-server.yaml",
        "60-web-ui.yaml",
        "70-monitoring.yaml",
    ]
    deployments = by_kind(rendered.docs, "Deployment")
    assert sorted(deployments) == [
        "airflow-api-server",
        "airflow-dag-processor",
        "airflow-scheduler",
        "airflow-triggerer",
        "grafana",
        "mlflow",
        "model-server",
        "prometheus",
        "statsd-exporter",
        "web-ui",
    ]
    assert sorted(by_kind(rendered.docs, "StatefulSet")) == ["postgresql", "seaweedfs"]
    assert all(
        d["metadata"].get("namespace") == "mlops" for d in rendered.docs if d["kind"] != "Namespace"
    )


def test_cli_validator_accepts_every_file_strictly(rendered):
    """The same check an operator runs: kubernetes-validate -k 1.33.0 --strict."""
    cli = Path(sys.executable).parent / "kubernetes-validate"
    files = sorted(str(p) for p in rendered.dir.glob("*.yaml"))
    proc = subprocess.run(
        [str(cli), "-k", policy.K8S_VERSION, "--strict", "--quiet", *files],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("fixture", ["rendered_example", "rendered", "rendered_nodeport"])
def test_schema_and_policies(request, fixture):
    docs = request.getfixturevalue(fixture).docs
    assert policy.validate_schema(docs) == []
    for check in policy.ALL_CHECKS:
        assert check(docs) == [], check.__name__


@pytest.mark.parametrize("fixture", ["rendered", "rendered_nodeport", "rendered_variant"])
def test_no_generated_secret_value_in_render_dir(request, fixture):
    render = request.getfixturevalue(fixture)
    values = [str(v) for v in render.secrets.values()]
    assert len(values) >= 15
    assert policy.check_no_secret_values(render.docs, values) == []
    # Not even in the (redacted) Secret manifests of the main directory.
    text = "\n".join(p.read_text() for p in render.dir.glob("*.yaml"))
    assert not [v for v in values if v in text]
    assert "<redacted>" in text


def test_real_secrets_only_when_asked(rendered_nodeport, rendered):
    assert not (rendered_nodeport.dir / "secrets").exists()
    secret_dir = rendered.dir / "secrets"
    assert oct(secret_dir.stat().st_mode & 0o777) == "0o700"
    files = sorted(secret_dir.glob("*.yaml"))
    assert files, "render_secrets=true wrote no Secret manifests"
    docs = [d for f in files for d in yaml.safe_load_all(f.read_text())]
    assert {d["kind"] for d in docs} == {"Secret"}
    assert all(oct(f.stat().st_mode & 0o777) == "0o600" for f in files)
    text = "\n".join(f.read_text() for f in files)
    assert rendered.secrets["airflow_fernet_key"] in text
    assert policy.validate_schema(docs) == []


def test_default_nodeports_and_loadbalancers(rendered, rendered_nodeport):
    expected = {
        "airflow-api-server": 30080,
        "mlflow": 30500,
        "model-server": 30800,
        "web-ui": 30501,
        "prometheus": 30900,
        "grafana": 30300,
    }
    for render, svc_type in ((rendered, "LoadBalancer"), (rendered_nodeport, "NodePort")):
        services = by_kind(render.docs, "Service")
        exposed = {n: s for n, s in services.items() if s["spec"]["type"] != "ClusterIP"}
        assert {n: s["spec"]["ports"][0]["nodePort"] for n, s in exposed.items()} == expected
        assert {s["spec"]["type"] for s in exposed.values()} == {svc_type}
        fixed = {n: s["spec"].get("loadBalancerIP") for n, s in exposed.items()}
        if svc_type == "LoadBalancer":
            assert fixed == {
                "airflow-api-server": None,
                "mlflow": "192.0.2.242",
                "model-server": None,
                "web-ui": "192.0.2.241",
                "prometheus": None,
                "grafana": None,
            }
        else:
            assert set(fixed.values()) == {None}
        # Databases and object storage stay inside the cluster.
        assert services["postgresql"]["spec"]["type"] == "ClusterIP"
        assert services["seaweedfs"]["spec"]["type"] == "ClusterIP"


def test_images_come_from_versions_yml_and_one_app_image(rendered):
    images = {
        c["image"]
        for _o, _m, spec in policy.pod_specs(rendered.docs)
        for _f, c in policy.containers(spec)
    }
    pins = VERSIONS["images"]
    assert images == {
        APP_IMAGE,
        "{registry}/{repository}:{tag}".format(**pins["postgres"]),
        "{registry}/{repository}:{tag}".format(**pins["seaweedfs"]),
        *("{registry}/{repository}:{tag}".format(**pins[key]) for key in MONITORING_IMAGES),
    }
    # Airflow, the task pods, MLflow, the model server and the web UI share one image, so the
    # MLflow client and server are the same package.
    deployments = by_kind(rendered.docs, "Deployment")
    for name in ("mlflow", "model-server", "web-ui", "airflow-scheduler"):
        assert {c["image"] for c in pod_containers(deployments[name])} == {APP_IMAGE}
    mlflow = deployments["mlflow"]["spec"]["template"]
    assert mlflow["metadata"]["annotations"]["house-prices/mlflow-version"] == VERSIONS["mlflow"]


def test_registry_mirror_replaces_every_public_registry_host(rendered_variant):
    docs = rendered_variant.docs
    images = {image for _where, image in policy.all_images(docs)}
    # Our image is imported into K3s (localhost), never pulled; every other image is mirrored.
    assert APP_IMAGE in images
    assert images - {APP_IMAGE} == {
        f"{REGISTRY_MIRROR}/{{repository}}:{{tag}}".format(**VERSIONS["images"][key])
        for key in ("postgres", "seaweedfs", *MONITORING_IMAGES)
    }
    assert policy.check_images(docs) == []
    assert policy.check_registry_hosts(docs) == []


def test_airflow_wiring(rendered):
    docs = rendered.docs
    config = by_kind(docs, "ConfigMap")["airflow-config"]["data"]
    assert config["AIRFLOW__CORE__EXECUTOR"] == "KubernetesExecutor"
    assert config["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "https://airflow-api-server:8080/execution/"
    )
    assert config["AIRFLOW__LOGGING__REMOTE_LOGGING"] == "True"
    assert config["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"].startswith("s3://airflow-logs/")
    conn_id = config["AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID"]
    task_secret = by_kind(docs, "Secret")["airflow-task-credentials"]["stringData"]
    assert f"AIRFLOW_CONN_{conn_id.upper()}" in task_secret
    # The task pod template: container "base", our image, the config, no database secret.
    (pod,) = policy.embedded_pods(docs)
    (base,) = pod["spec"]["containers"]
    assert base["name"] == "base" and base["image"] == APP_IMAGE
    refs = {next(iter(e.values()))["name"] for e in base["envFrom"]}
    assert "airflow-config" in refs and "airflow-credentials" not in refs
    # Migrations: one Job, and every component waits for it before starting.
    jobs = [n for n in by_kind(docs, "Job") if n.startswith("airflow-db-migrate-")]
    assert len(jobs) == 1
    for name, dep in by_kind(docs, "Deployment").items():
        if name.startswith("airflow-"):
            init = dep["spec"]["template"]["spec"]["initContainers"][0]
            assert init["command"][:3] == ["airflow", "db", "check-migrations"], name
    # The scheduler may manage pods; nothing else is bound to that Role.
    role = by_kind(docs, "Role")["airflow-pod-launcher"]
    pods_rule = next(r for r in role["rules"] if r["resources"] == ["pods"])
    assert set(pods_rule["verbs"]) == {"create", "list", "get", "patch", "watch", "delete"}
    binding = by_kind(docs, "RoleBinding")["airflow-pod-launcher"]
    assert [s["name"] for s in binding["subjects"]] == ["airflow-scheduler"]


def test_mlflow_wiring(rendered):
    dep = by_kind(rendered.docs, "Deployment")["mlflow"]
    spec = dep["spec"]["template"]["spec"]
    assert spec["initContainers"][0]["command"][-1].startswith("exec mlflow db upgrade")
    args = spec["containers"][0]["args"]
    assert "--host=0.0.0.0" in args
    assert "--artifacts-destination=s3://mlflow-artifacts" in args
    hosts = next(a for a in args if a.startswith("--allowed-hosts=")).split("=", 1)[1].split(",")
    for needed in (
        "mlflow:5000",
        "mlflow.mlops.svc.cluster.local:5000",
        "192.0.2.10:30500",
        "192.0.2.242:5000",
    ):
        assert needed in hosts
    assert "--app-name=basic-auth" in args
    assert dep["spec"]["strategy"]["type"] == "Recreate"


def test_mlflow_auth_off_leaves_clients_without_credentials(rendered_nodeport):
    docs = rendered_nodeport.docs
    args = by_kind(docs, "Deployment")["mlflow"]["spec"]["template"]["spec"]["containers"][0]
    assert "--app-name=basic-auth" not in args["args"]
    assert by_kind(docs, "Secret")["mlflow-client-credentials"].get("stringData") == {}


def test_postgres_databases(rendered):
    script = by_kind(rendered.docs, "ConfigMap")["postgresql-bootstrap"]["data"]["bootstrap.sh"]
    for db, owner in (("airflow", "airflow"), ("mlflow", "mlflow"), ("predictions", "predictions")):
        assert f"ensure {db} {owner} " in script


# --- the checks must be able to fail -------------------------------------------------------


def _broken(rendered, mutate):
    docs = copy.deepcopy(rendered.docs)
    mutate(docs)
    return docs


def _doc(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def _deployment(docs, name):
    return _doc(docs, "Deployment", name)


def _pod(docs, name):
    return _deployment(docs, name)["spec"]["template"]["spec"]


MUTATIONS = {
    "probes": (
        policy.check_probes,
        lambda docs: _pod(docs, "web-ui")["containers"][0].pop("livenessProbe"),
    ),
    "resources": (
        policy.check_resources,
        lambda docs: _pod(docs, "mlflow")["initContainers"][0]["resources"].pop("limits"),
    ),
    "root": (
        policy.check_non_root,
        lambda docs: _pod(docs, "model-server")["securityContext"].update(runAsUser=0),
    ),
    "latest": (
        policy.check_images,
        lambda docs: _pod(docs, "web-ui")["containers"][0].update(
            image="localhost/house-price-appliance:latest"
        ),
    ),
    "untagged": (
        policy.check_images,
        lambda docs: _pod(docs, "web-ui")["containers"][0].update(
            image="registry.example.lan:5000/house-price-appliance"
        ),
    ),
    "selector": (
        policy.check_service_selectors,
        lambda docs: _doc(docs, "Service", "mlflow")["spec"]["selector"].update(
            {"app.kubernetes.io/name": "mlflow-server"}
        ),
    ),
    "missing secret": (
        policy.check_references,
        lambda docs: docs.remove(_doc(docs, "Secret", "s3-credentials")),
    ),
    "missing key": (
        policy.check_references,
        lambda docs: _doc(docs, "Secret", "mlflow-credentials")["stringData"].pop(
            "MLFLOW_BACKEND_STORE_URI"
        ),
    ),
    "hook": (
        policy.check_no_helm_hooks,
        lambda docs: (
            next(d for d in docs if d["kind"] == "Job")["metadata"]
            .setdefault("annotations", {})
            .update({"helm.sh/hook": "pre-install"})
        ),
    ),
    "writable root": (
        policy.check_app_read_only_root,
        lambda docs: _pod(docs, "web-ui")["containers"][0]["securityContext"].pop(
            "readOnlyRootFilesystem"
        ),
    ),
    "no tmp volume": (
        policy.check_app_read_only_root,
        lambda docs: _pod(docs, "airflow-scheduler")["containers"][0].update(
            volumeMounts=[
                m
                for m in _pod(docs, "airflow-scheduler")["containers"][0]["volumeMounts"]
                if m["mountPath"] != "/tmp"
            ]
        ),
    ),
    "task pod writable root": (
        policy.check_app_read_only_root,
        lambda docs: _set_pod_template(
            docs, "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"
        ),
    ),
    "token mounted": (
        policy.check_service_account_tokens,
        lambda docs: _doc(docs, "StatefulSet", "postgresql")["spec"]["template"]["spec"].pop(
            "automountServiceAccountToken"
        ),
    ),
    "scheduler without token": (
        policy.check_service_account_tokens,
        lambda docs: _pod(docs, "airflow-scheduler").update(automountServiceAccountToken=False),
    ),
    "task pod root": (
        policy.check_non_root,
        lambda docs: _set_pod_template(docs, "runAsUser: 50000", "runAsUser: 0"),
    ),
}


def _set_pod_template(docs, old, new):
    cm = _doc(docs, "ConfigMap", "airflow-pod-template")
    text = cm["data"]["pod_template.yaml"]
    text = yaml.safe_dump(yaml.safe_load(text)).replace(old, new)
    assert new in text
    cm["data"]["pod_template.yaml"] = text


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_policy_catches_a_broken_manifest(rendered, case):
    check, mutate = MUTATIONS[case]
    assert check(rendered.docs) == []
    assert check(_broken(rendered, mutate)), f"{check.__name__} missed: {case}"


def test_secret_leak_is_caught(rendered):
    value = rendered.secrets["postgres_superuser_password"]
    docs = copy.deepcopy(rendered.docs)
    _pod(docs, "web-ui")["containers"][0]["env"].append(
        {"name": "LEAK", "value": f"postgresql://postgres:{value}@postgresql"}
    )
    assert policy.check_no_secret_values(docs, [value]) == [
        "Deployment/web-ui contains a generated secret value"
    ]


def test_schema_check_catches_unknown_field(rendered):
    docs = copy.deepcopy(rendered.docs)
    _pod(docs, "web-ui")["containers"][0]["imagePolicy"] = "x"
    errors = policy.validate_schema(docs)
    assert errors and "Deployment/web-ui" in errors[0]


def test_every_airflow_setting_is_a_real_airflow_option(rendered, tmp_path):
    """AIRFLOW__SECTION__KEY variables are checked against Airflow's own config description
    (core and installed providers): a misspelt key would be silently ignored by Airflow."""
    keys = set()
    for _owner, _meta, spec in policy.pod_specs(rendered.docs):
        for _field, container in policy.containers(spec):
            keys |= {e["name"] for e in container.get("env") or []}
    for doc in rendered.docs:
        if doc["kind"] in {"ConfigMap", "Secret"}:
            keys |= set(doc.get("data") or {}) | set(doc.get("stringData") or {})
    keys = sorted(k for k in keys if k.startswith("AIRFLOW__"))
    assert len(keys) >= 20
    code = (
        "import sys\n"
        "from airflow.configuration import conf\n"
        "conf.load_providers_configuration()\n"
        "d = conf.configuration_description\n"
        "for key in sys.argv[1:]:\n"
        "    _, section, option = key.split('__', 2)\n"
        "    if option.lower() not in d.get(section.lower(), {}).get('options', {}):\n"
        "        print('UNKNOWN-OPTION', key)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *keys, "AIRFLOW__CORE__NO_SUCH_OPTION"],
        env={**os.environ, "AIRFLOW_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # The deliberately wrong key proves the check can fail.
    unknown = [line.split()[1] for line in proc.stdout.splitlines() if "UNKNOWN-OPTION" in line]
    assert unknown == ["AIRFLOW__CORE__NO_SUCH_OPTION"]
