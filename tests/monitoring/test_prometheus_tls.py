"""Prometheus scrapes over TLS for real: the monitoring role's rendered scrape job, a real
Prometheus and the real model server under gunicorn serving the platform_tls certificate.

The job is the rendered one (scheme, tls_config with its server_name, metrics path) with only
the pod discovery swapped for the local metrics port and the CA path for the role's ca.crt;
the model server runs with the rendered Deployment's TLS arguments (GUNICORN_CMD_ARGS) and
environment, the certificate paths swapped for the role's files. The same job with another
CA, or with no CA (the system trust store), is down: Prometheus verifies the certificate.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.manifests.test_rendered_manifests import by_kind
from testsupport import servers
from testsupport.model_server import API_KEYS, Gunicorn

pytestmark = pytest.mark.integration

MANIFEST_TLS_DIR = "/etc/platform-tls"
MANIFEST_CA_FILE = "/etc/platform-ca/ca.crt"


def _container_env(rendered, deployment: str) -> dict[str, str]:
    spec = by_kind(rendered.docs, "Deployment")[deployment]["spec"]["template"]["spec"]
    return {e["name"]: e["value"] for e in spec["containers"][0]["env"] if "value" in e}


def _rendered_job(rendered, name: str) -> dict:
    data = by_kind(rendered.docs, "ConfigMap")["prometheus-config"]["data"]
    jobs = yaml.safe_load(data["prometheus.yml"])["scrape_configs"]
    return next(job for job in jobs if job["job_name"] == name)


def _other_ca(directory: Path) -> Path:
    """A CA that did not sign the platform's certificates (openssl, as a stranger would)."""
    key, cert = directory / "other-ca.key", directory / "other-ca.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=other CA"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert


@pytest.fixture(scope="module")
def tls_model_server(rendered, mlflow_server, tmp_path_factory):
    """The model server as the rendered Deployment runs it (TLS on both ports, keys on);
    yields (server, metrics port)."""
    tls = rendered.inventory / "secrets" / "tls"
    env = _container_env(rendered, "model-server")
    assert env["GUNICORN_CMD_ARGS"] == (
        f"--certfile={MANIFEST_TLS_DIR}/tls.crt --keyfile={MANIFEST_TLS_DIR}/tls.key"
    )
    metrics_port = servers.free_port()
    server = Gunicorn(
        tmp_path_factory.mktemp("tls-model-server"),
        {
            "MLFLOW_TRACKING_URI": mlflow_server.url,
            "MODEL_SERVER_AUTH": env["MODEL_SERVER_AUTH"],
            "MODEL_SERVER_API_KEYS": API_KEYS,
            "MODEL_SERVER_METRICS_PORT": str(metrics_port),
            "GUNICORN_CMD_ARGS": env["GUNICORN_CMD_ARGS"]
            .replace(f"{MANIFEST_TLS_DIR}/tls.crt", str(tls / "model_server.crt"))
            .replace(f"{MANIFEST_TLS_DIR}/tls.key", str(tls / "model_server.key")),
        },
    )
    try:
        servers.wait_for(
            lambda: (
                server.process.poll() is None
                and _answers(f"https://127.0.0.1:{metrics_port}/metrics", tls / "ca.crt")
            ),
            timeout=120,
        )
        yield server, metrics_port
    finally:
        server.terminate(timeout=30)


def _answers(url: str, ca: Path) -> bool:
    try:
        return requests.get(url, verify=str(ca), timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_prometheus_scrapes_the_model_server_over_tls_with_the_appliance_ca(
    rendered,
    tls_model_server,
    tmp_path,
):
    server, metrics_port = tls_model_server
    ca = rendered.inventory / "secrets" / "tls" / "ca.crt"
    job = _rendered_job(rendered, "model-server")
    # What the role rendered: https, the appliance CA, the model server Service's name.
    assert job["scheme"] == "https"
    assert job["tls_config"] == {
        "ca_file": MANIFEST_CA_FILE,
        "server_name": "model-server.mlops.svc",
    }

    def local(name: str, tls_config: dict | None) -> dict:
        swapped = copy.deepcopy(job)
        del swapped["dns_sd_configs"]
        swapped["job_name"] = name
        swapped["static_configs"] = [{"targets": [f"127.0.0.1:{metrics_port}"]}]
        if tls_config is None:
            del swapped["tls_config"]
        else:
            swapped["tls_config"] = tls_config
        return swapped

    port = servers.free_port()
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            local("model-server", {**job["tls_config"], "ca_file": str(ca)}),
            local("other-ca", {**job["tls_config"], "ca_file": str(_other_ca(tmp_path))}),
            local("no-ca", None),
        ],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    check = subprocess.run(
        ["promtool", "check", "config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr

    binary = shutil.which("prometheus")
    assert binary, "prometheus missing: run scripts/system-packages.sh"
    command = [
        binary, f"--config.file={path}", f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with servers.serve(command, f"{url}/-/ready", tmp_path / "prometheus.log"):

        def scraped() -> dict | None:
            answer = requests.get(f"{url}/api/v1/targets", timeout=10).json()
            targets = {t["labels"]["job"]: t for t in answer["data"]["activeTargets"]}
            if len(targets) == 3 and all(t["health"] != "unknown" for t in targets.values()):
                return targets
            return None

        targets = servers.wait_for(scraped, timeout=60, interval=0.5)
        time.sleep(2)  # a few more scrapes
        targets = scraped()
        up = requests.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=10).json()
    health = {job: t["health"] for job, t in targets.items()}
    errors = {job: t["lastError"] for job, t in targets.items()}
    assert health == {"model-server": "up", "other-ca": "down", "no-ca": "down"}, errors
    assert targets["model-server"]["scrapeUrl"].startswith("https://")
    for refused in ("other-ca", "no-ca"):
        assert "certificate" in errors[refused] or "x509" in errors[refused], errors
    values = {s["metric"]["job"]: s["value"][1] for s in up["data"]["result"]}
    assert values == {"model-server": "1", "other-ca": "0", "no-ca": "0"}
    assert server.process.poll() is None


def test_prometheus_serves_tls_with_the_rendered_web_config_and_scrapes_itself(
    rendered,
    tmp_path,
):
    """Prometheus as the rendered Deployment runs it: --web.config.file with the rendered
    web.yml (paths swapped for the role's prometheus certificate), and the rendered self-scrape
    job (its target swapped for the local port, its CA for the role's ca.crt)."""
    tls = rendered.inventory / "secrets" / "tls"
    ca = tls / "ca.crt"
    deployment = by_kind(rendered.docs, "Deployment")["prometheus"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "--web.config.file=/etc/prometheus/web.yml" in container["args"]
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    data = by_kind(rendered.docs, "ConfigMap")["prometheus-config"]["data"]
    web = yaml.safe_load(data["web.yml"])
    web["tls_server_config"] = {
        key: value.replace(f"{MANIFEST_TLS_DIR}/tls.crt", str(tls / "prometheus.crt")).replace(
            f"{MANIFEST_TLS_DIR}/tls.key", str(tls / "prometheus.key")
        )
        for key, value in web["tls_server_config"].items()
    }
    assert set(web["tls_server_config"].values()) == {
        str(tls / "prometheus.crt"),
        str(tls / "prometheus.key"),
    }
    web_path = tmp_path / "web.yml"
    web_path.write_text(yaml.safe_dump(web))
    check = subprocess.run(
        ["promtool", "check", "web-config", str(web_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr

    port = servers.free_port()
    (job,) = [
        j for j in yaml.safe_load(data["prometheus.yml"])["scrape_configs"]
        if j["job_name"] == "prometheus"
    ]  # fmt: skip
    job["static_configs"] = [{"targets": [f"localhost:{port}"]}]
    job["tls_config"]["ca_file"] = str(ca)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump({"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                        "scrape_configs": [job]})
    )  # fmt: skip
    binary = shutil.which("prometheus")
    assert binary, "prometheus missing: run scripts/system-packages.sh"
    command = [
        binary, f"--config.file={config}", f"--web.config.file={web_path}",
        f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
    ]  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    process = servers.start(command, tmp_path / "prometheus.log")
    try:
        servers.wait_http(
            f"{url}/-/ready", 90, process, tmp_path / "prometheus.log", verify=str(ca)
        )
        plain = requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=10)
        assert plain.status_code == 400  # "Client sent an HTTP request to an HTTPS server"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{url}/-/ready", verify=str(_other_ca(tmp_path)), timeout=10)

        def self_scraped() -> str | None:
            answer = requests.get(
                f"{url}/api/v1/query", params={"query": 'up{job="prometheus"}'},
                verify=str(ca), timeout=10,
            ).json()  # fmt: skip
            result = answer["data"]["result"]
            return result[0]["value"][1] if result else None

        assert servers.wait_for(self_scraped, timeout=60, interval=0.5) == "1"
    finally:
        servers.stop_process(process)
