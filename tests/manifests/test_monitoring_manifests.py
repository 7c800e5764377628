"""The monitoring role's manifests: the cluster's Prometheus files pass promtool, Grafana gets
the repository's dashboards and a generated password, Airflow sends StatsD to the exporter."""

from __future__ import annotations

import json
import shutil
import subprocess

import yaml

from .conftest import REPO
from .test_rendered_manifests import by_kind

PROMTOOL = shutil.which("promtool") or "promtool-missing:run-scripts/system-packages.sh"


def _config_map(rendered, name):
    return by_kind(rendered.docs, "ConfigMap")[name]["data"]


def test_cluster_prometheus_files_pass_promtool(rendered, tmp_path):
    data = _config_map(rendered, "prometheus-config")
    (tmp_path / "alerts.rules.yml").write_text(data["alerts.rules.yml"])
    config = tmp_path / "prometheus.yml"
    config.write_text(
        data["prometheus.yml"].replace("/etc/prometheus/alerts.rules.yml", "alerts.rules.yml")
    )
    for args in (["check", "config", str(config)], ["check", "rules", "alerts.rules.yml"]):
        proc = subprocess.run(
            [PROMTOOL, *args], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    shutil.copy(REPO / "tests" / "monitoring" / "alerts.test.yml", tmp_path)
    proc = subprocess.run(
        [PROMTOOL, "test", "rules", "alerts.test.yml"], cwd=tmp_path, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_scrape_job_finds_its_pods_through_a_headless_service(rendered):
    config = yaml.safe_load(_config_map(rendered, "prometheus-config")["prometheus.yml"])
    services = by_kind(rendered.docs, "Service")
    deployments = by_kind(rendered.docs, "Deployment")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"prometheus", "model-server", "pipeline", "mlflow", "airflow-statsd"}
    owners = {
        "model-server": "model-server",
        "pipeline": "web-ui",
        "mlflow": "mlflow",
        "airflow-statsd": "statsd-exporter",
    }
    for job, deployment in owners.items():
        (sd,) = jobs[job]["dns_sd_configs"]
        service = services[f"{job}-pods"]
        assert sd["names"] == [f"{job}-pods.mlops.svc.cluster.local"]
        assert service["spec"]["clusterIP"] == "None"
        labels = deployments[deployment]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), job
        ports = {
            p["containerPort"]
            for c in deployments[deployment]["spec"]["template"]["spec"]["containers"]
            for p in c["ports"]
        }
        assert sd["port"] in ports, job
    # MLflow runs with basic auth here: Prometheus reads the client password from its Secret.
    assert jobs["mlflow"]["basic_auth"]["password_file"].endswith("MLFLOW_TRACKING_PASSWORD")


def test_grafana_is_provisioned_with_the_repository_dashboards(rendered):
    dashboards = _config_map(rendered, "grafana-dashboards")
    for name in ("serving", "pipeline", "platform"):
        committed = (REPO / "monitoring" / "dashboards" / f"{name}.json").read_text()
        assert json.loads(dashboards[f"{name}.json"]) == json.loads(committed)
    provisioning = _config_map(rendered, "grafana-provisioning")
    (source,) = yaml.safe_load(provisioning["datasource.yml"])["datasources"]
    assert source["uid"] == "prometheus"
    secret = by_kind(rendered.docs, "Secret")["grafana-credentials"]["stringData"]
    assert secret["GF_SECURITY_ADMIN_PASSWORD"] == "<redacted>"
    assert len(rendered.secrets["grafana_admin_password"]) == 24


def test_airflow_sends_statsd_to_the_exporter(rendered):
    config = _config_map(rendered, "airflow-config")
    assert config["AIRFLOW__METRICS__STATSD_ON"] == "True"
    service = by_kind(rendered.docs, "Service")[config["AIRFLOW__METRICS__STATSD_HOST"]]
    (udp,) = [p for p in service["spec"]["ports"] if p.get("protocol") == "UDP"]
    assert str(udp["port"]) == config["AIRFLOW__METRICS__STATSD_PORT"]


def test_web_ui_can_read_the_pipeline_reports(rendered):
    pod = by_kind(rendered.docs, "Deployment")["web-ui"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["HOUSE_PRICES_STORAGE"] == "s3"
    assert env["HOUSE_PRICES_S3_BUCKET"] == "house-prices"
    assert {"name": "s3-web-credentials"} in [e.get("secretRef") for e in container["envFrom"]]


def test_cluster_and_embedded_rules_are_one_source(rendered):
    from monitoring import render

    cluster = _config_map(rendered, "prometheus-config")["alerts.rules.yml"]
    assert yaml.safe_load(cluster) == yaml.safe_load(render.render_alert_rules())


def _prometheus(rendered):
    deployment = by_kind(rendered.docs, "Deployment")["prometheus"]["spec"]["template"]
    config = yaml.safe_load(_config_map(rendered, "prometheus-config")["prometheus.yml"])
    return deployment, {job["job_name"]: job for job in config["scrape_configs"]}


def test_prometheus_scrapes_the_tls_services_over_https_with_the_appliance_ca(rendered):
    deployment, jobs = _prometheus(rendered)
    for job, service in (("model-server", "model-server"), ("pipeline", "web-ui"),
                         ("mlflow", "mlflow")):  # fmt: skip
        assert jobs[job]["scheme"] == "https", job
        assert jobs[job]["tls_config"] == {
            "ca_file": "/etc/platform-ca/ca.crt",
            "server_name": f"{service}.mlops.svc",
        }
    # The StatsD exporter and Prometheus itself serve no certificate.
    assert "tls_config" not in jobs["airflow-statsd"] and "scheme" not in jobs["airflow-statsd"]
    spec = deployment["spec"]
    (mount,) = [m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "platform-ca"]
    assert mount == {"name": "platform-ca", "mountPath": "/etc/platform-ca", "readOnly": True}
    assert {"name": "platform-ca", "configMap": {"name": "platform-ca"}} in spec["volumes"]
    # A new CA rolls the pod: the same annotation as the servers' (CA part only).
    assert deployment["metadata"]["annotations"]["checksum/tls"]
    env = {
        e["name"]: e.get("value")
        for e in by_kind(rendered.docs, "Deployment")["web-ui"]["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
    }
    assert env["WEB_SECURE_COOKIES"] == "1" and env["PLATFORM_CA_FILE"] == "/etc/platform-ca/ca.crt"


def test_without_tls_prometheus_scrapes_plain_http(rendered_tls_off):
    deployment, jobs = _prometheus(rendered_tls_off)
    for job in jobs.values():
        assert "tls_config" not in job and "scheme" not in job, job
    spec = deployment["spec"]
    assert "platform-ca" not in {v["name"] for v in spec["volumes"]}
    assert "checksum/tls" not in deployment["metadata"]["annotations"]
    env = {
        e["name"]: e.get("value")
        for e in by_kind(rendered_tls_off.docs, "Deployment")["web-ui"]["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
    }
    assert env["WEB_SECURE_COOKIES"] == "0" and "PLATFORM_CA_FILE" not in env
