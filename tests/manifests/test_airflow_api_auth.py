"""Start a real Airflow api-server with the rendered auth and TLS settings.

The api-server Deployment seeds the simple auth manager's passwords file from the Secret into
a writable volume; this test does the same with the rendered Secret and checks that the
generated admin password (and nothing else) gets a token, and that the probe path answers.
It serves TLS with the rendered airflow-api-server-tls Secret and the ConfigMap's CA (written
where the test's stand-in for the kubelet mounts them, paths swapped into the rendered env):
clients verify it with the appliance CA, and the task SDK's Execution API client does so with
the task pod's rendered configuration. Stand-ins: SQLite for PostgreSQL and the LocalExecutor
(no Kubernetes API here).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from .conftest import REPO, VENV_BIN
from .tls_support import mount_tls, swap

# Variables that would make a client trust something other than the rendered CA.
TRUST_OVERRIDES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")

pytestmark = pytest.mark.integration


def _task_pod_env(render, docs, dest) -> dict[str, str]:
    """A KubernetesExecutor task pod's Airflow configuration: the rendered pod template's
    mounts made local and swapped into the ConfigMap it reads."""
    template = docs[("ConfigMap", "airflow-pod-template")]["data"]["pod_template.yaml"]
    pod = yaml.safe_load(template)["spec"]
    (base,) = pod["containers"]
    assert {"configMapRef": {"name": "airflow-config"}} in base["envFrom"]
    mounts = mount_tls(render, pod, base, dest)
    config = docs[("ConfigMap", "airflow-config")]["data"]
    return {k: swap(v, mounts) for k, v in config.items() if k.startswith("AIRFLOW__")}


@pytest.fixture(scope="module")
def api_server(rendered, tmp_path_factory):
    render = rendered
    home = tmp_path_factory.mktemp("airflow-home")
    docs = {
        (d["kind"], d["metadata"]["name"]): d
        for d in yaml.safe_load_all((render.dir / "40-airflow.yaml").read_text())
        if d
    }
    secrets = {
        d["metadata"]["name"]: d["stringData"]
        for d in yaml.safe_load_all((render.dir / "secrets" / "40-airflow.yaml").read_text())
    }
    creds = secrets["airflow-credentials"]
    api = docs[("Deployment", "airflow-api-server")]["spec"]["template"]["spec"]
    container = api["containers"][0]
    mounts = mount_tls(render, api, container, home / "mounts")
    config = docs[("ConfigMap", "airflow-config")]["data"]
    container_env = {e["name"]: swap(e["value"], mounts) for e in container["env"] if "value" in e}
    passwords_file = container_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    # What the seed-passwords init container does: copy the Secret's file to a writable path.
    seeded = home / "auth" / os.path.basename(passwords_file)
    seeded.parent.mkdir()
    seeded.write_text(creds["passwords.json"])

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if k not in TRUST_OVERRIDES},
        **{k: swap(v, mounts) for k, v in config.items()},
        **container_env,
        **{k: v for k, v in creds.items() if k.startswith("AIRFLOW__")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(seeded),
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "False",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", None)
    subprocess.run(
        [str(VENV_BIN / "airflow"), "db", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    log = (home / "api.log").open("w")
    proc = subprocess.Popen(
        [str(VENV_BIN / "airflow"), "api-server", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    ca = env["AIRFLOW__API__SSL_CA_FILE"]
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError((home / "api.log").read_text()[-4000:])
            try:
                answer = requests.get(f"{url}/api/v2/monitor/health", timeout=2, verify=ca)
                if answer.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(2)
        else:
            raise AssertionError((home / "api.log").read_text()[-4000:])
        yield {
            "url": url,
            "port": port,
            "ca": ca,
            "password": render.secrets["airflow_admin_password"],
            "seeded": seeded,
            "probes": [container["readinessProbe"], container["livenessProbe"]],
            "task_env": _task_pod_env(render, docs, home / "task-mounts"),
            "env": env,
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_probe_path_answers_without_login(api_server):
    # The scheme and path the kubelet probes (it does not verify; this test does).
    for probe in api_server["probes"]:
        get = probe["httpGet"]
        scheme = get.get("scheme", "HTTP").lower()
        url = f"{scheme}://127.0.0.1:{api_server['port']}{get['path']}"
        assert requests.get(url, timeout=10, verify=api_server["ca"]).ok


def test_generated_admin_password_gets_a_token(api_server):
    url = f"{api_server['url']}/auth/token"
    ca = api_server["ca"]
    good = requests.post(
        url, json={"username": "admin", "password": api_server["password"]}, timeout=30, verify=ca
    )
    assert good.status_code == 201, good.text
    token = good.json()["access_token"]
    dags = requests.get(
        f"{api_server['url']}/api/v2/dags",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        verify=ca,
    )
    assert dags.status_code == 200
    for password, status in (("admin", 401), (api_server["password"] + "x", 401), ("", 400)):
        bad = requests.post(
            url, json={"username": "admin", "password": password}, timeout=30, verify=ca
        )
        assert bad.status_code == status, password
    # The manager kept the seeded password (it appends only users that are missing).
    assert api_server["password"] in api_server["seeded"].read_text()


def test_token_requests_need_https_verified_by_the_appliance_ca(api_server):
    login = {"username": "admin", "password": api_server["password"]}
    # Without the CA (the public trust store) the certificate is refused.
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.post(f"{api_server['url']}/auth/token", json=login, timeout=30)
    # Plain HTTP gets no token: the port speaks TLS only.
    with pytest.raises(requests.ConnectionError):
        requests.post(f"http://127.0.0.1:{api_server['port']}/auth/token", json=login, timeout=30)


EXECUTION_API_CALL = """
import sys
from airflow.sdk.api.client import Client
client = Client(base_url=sys.argv[1], token="no-token-needed-for-health")
answer = client.get("health")
print(answer.status_code, answer.json())
"""


def _execution_api_call(api_server, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The task SDK's Execution API client (what a task pod's supervisor uses), configured by
    ``env``, calls /execution/health on the test's api-server."""
    configured = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert configured.netloc == "airflow-api-server:8080"
    url = configured._replace(netloc=f"127.0.0.1:{api_server['port']}").geturl()
    return subprocess.run(
        [sys.executable, "-c", EXECUTION_API_CALL, url],
        env={
            **{k: v for k, v in api_server["env"].items() if not k.startswith("AIRFLOW__")},
            "AIRFLOW_HOME": str(api_server["seeded"].parent.parent),
            **env,
            "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "0",
            # The first call builds the Execution API app: slow on a busy test machine.
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "120",
            "PYTHONPATH": str(REPO),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_task_pods_reach_the_execution_api_over_https_with_the_ca(api_server):
    task_env = api_server["task_env"]
    trusted = _execution_api_call(api_server, task_env)
    assert trusted.returncode == 0, trusted.stderr[-3000:]
    assert "200 {'status': 'healthy'}" in trusted.stdout
    # Without [api] ssl_ca_file the client trusts only the public stores: refused.
    untrusted = _execution_api_call(
        api_server, {k: v for k, v in task_env.items() if k != "AIRFLOW__API__SSL_CA_FILE"}
    )
    assert untrusted.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
