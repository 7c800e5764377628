"""Every holder of a PostgreSQL URL or an S3 endpoint verifies over TLS (the default), and all of
it is plain with platform_tls_enabled=false. Environments are resolved from the rendered
manifests and Secrets (render_secrets=true): env values, secretKeyRefs and envFrom."""

from __future__ import annotations

import json
import re

import yaml

from . import policy

CA_DIR = "/etc/platform-ca"
CA_FILE = f"{CA_DIR}/ca.crt"
PG_URL = re.compile(r"postgresql(\+\w+)?://[^\s]+")
PG_QUERY = f"?sslmode=verify-full&sslrootcert={CA_FILE}"
# Where an S3 endpoint is configured: by variable name, and inside Airflow's connection.
S3_VARIABLES = ("MLFLOW_S3_ENDPOINT_URL", "HOUSE_PRICES_S3_ENDPOINT", "S3_ENDPOINT")
# Workloads that must be found holding each (a renamed variable would otherwise pass silently).
PG_HOLDERS = {"mlflow", "mlflow-gc", "airflow-db-migrate", "airflow-scheduler", "model-server",
              "prediction-log-retention"}  # fmt: skip
S3_HOLDERS = {"mlflow", "seaweedfs-buckets", "web-ui", "airflow-scheduler", "airflow-task"}


def _secret_data(render) -> dict[str, dict]:
    data = {}
    for path in sorted((render.dir / "secrets").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Secret":
                data[doc["metadata"]["name"]] = doc.get("stringData", {})
    return data


def _containers(render):
    """(workload, container, resolved env, its CA mount paths, pod spec) for every container."""
    secrets = _secret_data(render)
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in render.docs
                   if d["kind"] == "ConfigMap"}  # fmt: skip
    for owner, _, spec in policy.pod_specs(render.docs):
        ca_volumes = {v["name"] for v in spec.get("volumes", [])
                      if v.get("configMap", {}).get("name") == "platform-ca"}  # fmt: skip
        for _, container in policy.containers(spec):
            env: dict[str, str] = {}
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    env.update(config_maps[source["configMapRef"]["name"]])
                else:
                    env.update(secrets[source["secretRef"]["name"]])
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                env[entry["name"]] = secrets[ref["name"]][ref["key"]] if ref else entry.get("value")
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])
                      if m["name"] in ca_volumes}  # fmt: skip
            name = owner["metadata"]["name"]
            if owner["kind"] == "Pod":  # the Airflow task pod template
                name = owner["metadata"].get("labels", {}).get("app.kubernetes.io/name", name)
            # A Job named after a hash of its spec: its stable part.
            yield re.sub(r"-[0-9a-f]{10}$", "", name), container, env, mounts, spec


def _pg_urls(env: dict) -> list[str]:
    return [m.group(0) for v in env.values() for m in PG_URL.finditer(str(v))]


def _s3_endpoints(env: dict) -> list[str]:
    endpoints = [env[name] for name in S3_VARIABLES if name in env]
    for name, value in env.items():
        if name.startswith("AIRFLOW_CONN_") and '"aws"' in str(value):
            endpoints.append(json.loads(value)["extra"]["endpoint_url"])
    return endpoints


def test_every_database_and_s3_client_verifies_against_the_mounted_ca(rendered):
    pg_holders, s3_holders = set(), set()
    for name, container, env, mounts, _ in _containers(rendered):
        where = f"{name}/{container['name']}"
        urls, endpoints = _pg_urls(env), _s3_endpoints(env)
        for url in urls:
            # The query after the database name: libpq verifies the server's name and CA.
            assert re.search(r"/\w+" + re.escape(PG_QUERY) + "$", url), f"{where}: {url[-80:]}"
        for endpoint in endpoints:
            assert endpoint.startswith("https://"), f"{where}: {endpoint}"
        if endpoints:
            assert env.get("AWS_CA_BUNDLE") == CA_FILE, f"{where}: boto3 without the CA"
        if urls or endpoints:
            assert CA_DIR in mounts, f"{where} talks to PostgreSQL/S3 but does not mount the CA"
        if urls:
            pg_holders.add(name)
        if endpoints:
            s3_holders.add(name)
    assert pg_holders >= PG_HOLDERS
    assert s3_holders >= S3_HOLDERS


def test_servers_serve_their_certificates(rendered):
    docs = {(d["kind"], d["metadata"]["name"]): d for d in rendered.docs}
    seaweedfs = docs["StatefulSet", "seaweedfs"]["spec"]["template"]
    (container,) = seaweedfs["spec"]["containers"]
    assert {"-s3.cert.file=/etc/platform-tls/tls.crt",
            "-s3.key.file=/etc/platform-tls/tls.key"} <= set(container["args"])  # fmt: skip
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS"
    for kind, name, secret in [("StatefulSet", "seaweedfs", "seaweedfs-tls"),
                               ("StatefulSet", "postgresql", "postgresql-tls")]:  # fmt: skip
        template = docs[kind, name]["spec"]["template"]
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        assert volumes["tls"]["secret"] == {"secretName": secret, "defaultMode": 0o440}
        assert template["metadata"]["annotations"]["checksum/tls"]
    postgres = docs["StatefulSet", "postgresql"]["spec"]["template"]["spec"]["containers"][0]
    assert "hba_file=/etc/postgresql-hba/pg_hba.conf" in postgres["args"]
    hba = docs["ConfigMap", "postgresql-hba"]["data"]["pg_hba.conf"].split("\n")
    rules = [line.split() for line in hba if line and not line.startswith("#")]
    assert ["local", "all", "all", "trust"] in rules  # kubectl exec: backups and restores
    assert all(rule[0] in ("local", "hostssl", "hostnossl") for rule in rules)
    assert all(rule[-1] == "reject" for rule in rules if rule[0] == "hostnossl")


def test_tls_off_is_plain_everywhere(rendered_tls_off):
    names = set()
    for name, container, env, mounts, spec in _containers(rendered_tls_off):
        where = f"{name}/{container['name']}"
        names.add(name)
        for url in _pg_urls(env):
            assert "sslmode" not in url and "sslrootcert" not in url, where
        for endpoint in _s3_endpoints(env):
            assert endpoint.startswith("http://"), f"{where}: {endpoint}"
        assert "AWS_CA_BUNDLE" not in env and "PGSSLMODE" not in env, where
        assert not mounts, where
        volumes = [v for v in spec.get("volumes", []) if v["name"] in ("tls", "platform-ca")]
        assert not volumes, where
        for probe in ("readinessProbe", "livenessProbe"):
            assert container.get(probe, {}).get("httpGet", {}).get("scheme", "HTTP") == "HTTP"
    assert names >= PG_HOLDERS | S3_HOLDERS
    docs = {(d["kind"], d["metadata"]["name"]): d for d in rendered_tls_off.docs}
    assert ("ConfigMap", "postgresql-hba") not in docs
    for name in ("postgresql", "seaweedfs"):
        (container,) = docs["StatefulSet", name]["spec"]["template"]["spec"]["containers"]
        assert not [a for a in container.get("args", []) if "cert" in a or "ssl" in a], name
