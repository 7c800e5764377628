"""TLS in the rendered MLflow and Airflow manifests (platform_tls_enabled, on by default).

The servers (MLflow, Airflow's api-server) mount their own certificate Secret and serve it with
HTTPS probes; every client pod of theirs (Airflow's components, its migrate Job and task pods,
MLflow's accounts Job and gc CronJob) mounts the appliance CA and points its client library at
it. With ``platform_tls_enabled=false`` none of it is rendered. test_mlflow_server_config.py and
test_airflow_api_auth.py run the real servers and clients with these settings.
"""

from __future__ import annotations

import json
import re

from . import policy

FILES = ("30-mlflow.yaml", "40-airflow.yaml")
CA_DIR = "/etc/platform-ca"
CA_FILE = f"{CA_DIR}/ca.crt"
TLS_DIR = "/etc/platform-tls"
# Every pod that calls MLflow or Airflow's API (or, for Airflow's pods, the Execution API).
CLIENT_PODS = {
    "Deployment/airflow-api-server",
    "Deployment/airflow-scheduler",
    "Deployment/airflow-dag-processor",
    "Deployment/airflow-triggerer",
    "Job/airflow-db-migrate",
    "Pod/airflow-task",
    "Job/mlflow-accounts",
    "CronJob/mlflow-gc",
    "Deployment/mlflow",  # a client of PostgreSQL and S3
}
# Containers that talk to no platform service (they copy a file between volumes).
NO_CLIENT_CONTAINERS = {"seed-passwords"}


def _docs(render) -> list[dict]:
    return [doc for name in FILES for doc in render.files[name]]


def _pods(render) -> dict[str, tuple[dict, dict]]:
    """(pod metadata, pod spec) by Kind/name (Jobs without their spec hash)."""
    return {
        f"{owner['kind']}/{re.sub(r'-[0-9a-f]{10}$', '', owner['metadata']['name'])}": (meta, spec)
        for owner, meta, spec in policy.pod_specs(_docs(render))
    }


def _config(render) -> dict[str, str]:
    return next(
        d["data"]
        for d in render.files["40-airflow.yaml"]
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "airflow-config"
    )


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def _server(render, kind_name: str, container_name: str) -> tuple[dict, dict, dict]:
    meta, spec = _pods(render)[kind_name]
    container = next(c for c in spec["containers"] if c["name"] == container_name)
    return meta, spec, container


def _tls_secret_names(render) -> set[str]:
    return {d["metadata"]["name"] for d in render.files["01-tls.yaml"] if d["kind"] == "Secret"}


def test_every_mlflow_and_airflow_client_pod_mounts_the_ca(rendered):
    pods = _pods(rendered)
    clients = set()
    for where, (meta, spec) in pods.items():
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        ca_volumes = {
            name
            for name, v in volumes.items()
            if v.get("configMap", {}).get("name") == "platform-ca"
        }
        if not ca_volumes:
            continue
        clients.add(where)
        if where.startswith("Deployment/"):
            # A renewed CA rolls the long-running pods (the others start anew each run).
            assert "checksum/tls" in meta.get("annotations", {}), where
        for _, container in policy.containers(spec):
            if container["name"] in NO_CLIENT_CONTAINERS:
                continue
            mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
            assert CA_DIR in mounts, f"{where}/{container['name']} does not mount the CA"
            assert mounts[CA_DIR]["name"] in ca_volumes and mounts[CA_DIR]["readOnly"]
    assert clients == CLIENT_PODS


def test_the_clients_verify_with_the_mounted_ca_over_https(rendered):
    config = _config(rendered)
    # Airflow's components and task pods (envFrom airflow-config): the task SDK's Execution API
    # client reads [api] ssl_ca_file, and trusts nothing else.
    assert config["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "https://airflow-api-server:8080/execution/"
    )
    assert config["AIRFLOW__API__SSL_CA_FILE"] == CA_FILE
    assert config["AIRFLOW__API__CLIENT_USE_PUBLIC_CERTS"] == "False"
    assert config["AIRFLOW_API_URL"] == "https://airflow-api-server:8080"
    assert config["MLFLOW_TRACKING_URI"] == "https://mlflow:5000"
    assert config["MLFLOW_TRACKING_SERVER_CERT_PATH"] == CA_FILE
    pods = _pods(rendered)
    for where, (_, spec) in pods.items():
        if where.startswith(("Deployment/airflow-", "Job/airflow-", "Pod/airflow-")):
            for _, container in policy.containers(spec):
                if container["name"] not in NO_CLIENT_CONTAINERS:
                    refs = [e.get("configMapRef", {}).get("name") for e in container["envFrom"]]
                    assert "airflow-config" in refs, f"{where}/{container['name']}"
    # MLflow's Jobs: MLflow's client (mlflow gc) and house_prices.mlflow_accounts.
    for where in ("Job/mlflow-accounts", "CronJob/mlflow-gc"):
        env = _env(pods[where][1]["containers"][0])
        assert env["MLFLOW_TRACKING_URI"] == "https://mlflow:5000", where
        assert env["MLFLOW_TRACKING_SERVER_CERT_PATH"] == CA_FILE, where


def test_mlflow_serves_its_certificate_with_https_probes(rendered):
    meta, spec, container = _server(rendered, "Deployment/mlflow", "mlflow")
    (tls,) = [
        v for v in spec["volumes"] if "secret" in v and v["secret"]["secretName"] == "mlflow-tls"
    ]
    assert "mlflow-tls" in _tls_secret_names(rendered)
    assert {"name": tls["name"], "mountPath": TLS_DIR, "readOnly": True} in container[
        "volumeMounts"
    ]
    assert (
        f"--uvicorn-opts=--ssl-keyfile={TLS_DIR}/tls.key --ssl-certfile={TLS_DIR}/tls.crt"
        in container["args"]
    )
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS", probe
    assert meta["annotations"]["checksum/tls"]


def test_only_the_airflow_api_server_serves_tls(rendered):
    meta, spec, container = _server(rendered, "Deployment/airflow-api-server", "api-server")
    secret = "airflow-api-server-tls"
    assert secret in _tls_secret_names(rendered)
    (tls,) = [v for v in spec["volumes"] if v.get("secret", {}).get("secretName") == secret]
    assert {"name": tls["name"], "mountPath": TLS_DIR, "readOnly": True} in container[
        "volumeMounts"
    ]
    env = _env(container)
    assert env["AIRFLOW__API__SSL_CERT"] == f"{TLS_DIR}/tls.crt"
    assert env["AIRFLOW__API__SSL_KEY"] == f"{TLS_DIR}/tls.key"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["scheme"] == "HTTPS", probe
    # The others trust the CA (their checksum follows it) but serve nothing over TLS.
    api_checksum = meta["annotations"]["checksum/tls"]
    for component in ("scheduler", "dag-processor", "triggerer"):
        other_meta, other_spec, other = _server(
            rendered, f"Deployment/airflow-{component}", component
        )
        assert not {"AIRFLOW__API__SSL_CERT", "AIRFLOW__API__SSL_KEY"} & set(_env(other))
        assert TLS_DIR not in {m["mountPath"] for m in other["volumeMounts"]}
        assert not [v for v in other_spec["volumes"] if "secret" in v]
        assert other_meta["annotations"]["checksum/tls"] != api_checksum
    assert "AIRFLOW__API__SSL_CERT" not in _config(rendered)


def test_without_tls_mlflow_and_airflow_render_no_tls_setting(rendered_tls_off):
    text = json.dumps(_docs(rendered_tls_off))
    for setting in (
        "platform-ca",
        TLS_DIR,
        "-tls",
        "checksum/tls",
        "https://",
        "HTTPS",
        "ssl",
        "SSL_",
        "MLFLOW_TRACKING_SERVER_CERT_PATH",
        "PUBLIC_CERTS",
    ):
        assert setting not in text, setting
    config = _config(rendered_tls_off)
    assert config["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        "http://airflow-api-server:8080/execution/"
    )
    _, _, mlflow = _server(rendered_tls_off, "Deployment/mlflow", "mlflow")
    assert not [a for a in mlflow["args"] if a.startswith("--uvicorn-opts")]
    assert mlflow["readinessProbe"]["httpGet"]["scheme"] == "HTTP"
    _, _, api = _server(rendered_tls_off, "Deployment/airflow-api-server", "api-server")
    assert api["readinessProbe"]["httpGet"]["scheme"] == "HTTP"
