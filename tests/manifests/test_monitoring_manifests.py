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
