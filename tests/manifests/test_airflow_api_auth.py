"""Start a real Airflow api-server with the rendered auth settings.

The api-server Deployment seeds the simple auth manager's passwords file from the Secret into
a writable volume; this test does the same with the rendered Secret and checks that the
generated admin password (and nothing else) gets a token, and that the probe path answers.
Stand-ins: SQLite for PostgreSQL and the LocalExecutor (no Kubernetes API here).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest
import requests
import yaml

from .conftest import VENV_BIN

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api_server(rendered_with_secrets, tmp_path_factory):
    render = rendered_with_secrets
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
    passwords_file = next(
        e["value"]
        for e in api["containers"][0]["env"]
        if e["name"] == "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
    )
    # What the seed-passwords init container does: copy the Secret's file to a writable path.
    seeded = home / "auth" / os.path.basename(passwords_file)
    seeded.parent.mkdir()
    seeded.write_text(creds["passwords.json"])

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        **docs[("ConfigMap", "airflow-config")]["data"],
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
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(2)
        else:
            raise AssertionError((home / "api.log").read_text()[-4000:])
        yield {"url": url, "password": render.secrets["airflow_admin_password"], "seeded": seeded}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_probe_path_answers_without_login(api_server):
    assert requests.get(f"{api_server['url']}/api/v2/monitor/health", timeout=10).ok


def test_generated_admin_password_gets_a_token(api_server):
    url = f"{api_server['url']}/auth/token"
    good = requests.post(
        url, json={"username": "admin", "password": api_server["password"]}, timeout=30
    )
    assert good.status_code == 201, good.text
    token = good.json()["access_token"]
    dags = requests.get(
        f"{api_server['url']}/api/v2/dags", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert dags.status_code == 200
    for password, status in (("admin", 401), (api_server["password"] + "x", 401), ("", 400)):
        bad = requests.post(url, json={"username": "admin", "password": password}, timeout=30)
        assert bad.status_code == status, password
    # The manager kept the seeded password (it appends only users that are missing).
    assert api_server["password"] in api_server["seeded"].read_text()
