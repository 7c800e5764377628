"""Start a real MLflow server with the rendered Deployment's arguments and auth config.

No cluster here, so the pieces a cluster would provide are stand-ins: SQLite instead of the
PostgreSQL backend (the only argument swapped), moto instead of SeaweedFS, and the kubelet's
mounts of the mlflow-tls Secret and the platform-ca ConfigMap (the rendered objects' files in a
local directory, their paths swapped into the rendered arguments and environment). Everything
else (TLS through uvicorn, --allowed-hosts, basic-auth, proxied S3 artifacts, the generated
credentials) is what the Deployment runs; the smoke role's in-cluster script, the MLflow client,
our REST reader and the accounts Job reach it over https, verifying with the appliance CA.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
import yaml

from house_prices.mlflow_rest import MlflowRest, MlflowUnavailable
from testsupport.servers import free_port, wait_http

from .conftest import REPO, VENV_BIN
from .tls_support import mount_tls, swap

pytestmark = pytest.mark.integration

VERSIONS = yaml.safe_load((REPO / "versions.yml").read_text())
SMOKE_SCRIPT = REPO / "roles" / "smoke" / "files" / "smoke_checks.py"
CA_VARIABLE = "MLFLOW_TRACKING_SERVER_CERT_PATH"
# Variables that would make a client trust something other than the rendered CA.
TRUST_OVERRIDES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # Own process group: MLflow starts job consumers that outlive a plain SIGTERM.
    return subprocess.Popen(
        cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def _rendered_env(render, pod_spec: dict, dest: Path) -> dict[str, str]:
    """The literal env values of a rendered pod's container, its TLS mounts made local."""
    container = pod_spec["containers"][0]
    mounts = mount_tls(render, pod_spec, container, dest)
    return {e["name"]: swap(e["value"], mounts) for e in container["env"] if "value" in e}


@pytest.fixture(scope="module")
def mlflow_server(rendered, tmp_path_factory):
    render = rendered
    tmp = tmp_path_factory.mktemp("mlflow-server")
    docs = [d for d in yaml.safe_load_all((render.dir / "30-mlflow.yaml").read_text()) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    # The server's certificate where the kubelet would mount the mlflow-tls Secret.
    mounts = mount_tls(render, pod, container, tmp / "server-mounts")
    args = [swap(arg, mounts) for arg in container["args"]]
    # The accounts Job's and the gc CronJob's environments, their CA mounts swapped in likewise.
    job = next(d for d in docs if d["kind"] == "Job")["spec"]["template"]["spec"]
    job_env = _rendered_env(render, job, tmp / "job-mounts")
    cron = next(d for d in docs if d["kind"] == "CronJob")
    gc_env = _rendered_env(
        render, cron["spec"]["jobTemplate"]["spec"]["template"]["spec"], tmp / "gc"
    )
    secrets = {
        d["metadata"]["name"]: d["stringData"]
        for d in yaml.safe_load_all((render.dir / "secrets" / "30-mlflow.yaml").read_text())
    }
    creds = secrets["mlflow-credentials"]
    client = secrets["mlflow-client-credentials"]
    pipeline = secrets["mlflow-pipeline-credentials"]
    s3_keys = render.secrets["s3_access_key"], render.secrets["s3_secret_key"]

    auth_ini = tmp / "basic_auth.ini"
    auth_ini.write_text(
        "\n".join(
            f"database_uri = sqlite:///{tmp}/auth.db" if line.startswith("database_uri") else line
            for line in creds["basic_auth.ini"].splitlines()
        )
    )
    s3_port, port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in TRUST_OVERRIDES},
        # The container's literal settings, then the local stand-ins for its services.
        **_rendered_env(render, pod, tmp / "server-env"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "AWS_ACCESS_KEY_ID": s3_keys[0],
        "AWS_SECRET_ACCESS_KEY": s3_keys[1],
        "MLFLOW_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_ini),
        "MLFLOW_AUTH_ADMIN_USERNAME": creds["MLFLOW_AUTH_ADMIN_USERNAME"],
        "MLFLOW_AUTH_ADMIN_PASSWORD": creds["MLFLOW_AUTH_ADMIN_PASSWORD"],
        "MLFLOW_FLASK_SERVER_SECRET_KEY": creds["MLFLOW_FLASK_SERVER_SECRET_KEY"],
        "MLFLOW_BACKEND_STORE_URI": f"sqlite:///{tmp}/mlflow.db",
    }
    moto = _start(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
        env,
        tmp / "moto.log",
    )
    server = None
    try:
        wait_http(f"http://127.0.0.1:{s3_port}/moto-api/", 30)
        s3 = boto3.client(
            "s3",
            endpoint_url=env["MLFLOW_S3_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id=s3_keys[0],
            aws_secret_access_key=s3_keys[1],
        )
        for bucket in ("mlflow-artifacts", "house-prices"):
            s3.create_bucket(Bucket=bucket)
        subprocess.run(
            [str(VENV_BIN / "mlflow"), "db", "upgrade", env["MLFLOW_BACKEND_STORE_URI"]],
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )
        local_args = [
            a
            for a in args
            if not a.startswith(("--host=", "--port=", "--workers=", "--expose-prometheus="))
        ]
        assert "--expose-prometheus=/tmp/prometheus" in args
        server = _start(
            [
                str(VENV_BIN / "mlflow"),
                *local_args,
                f"--expose-prometheus={tmp / 'prometheus'}",
                "--host=127.0.0.1",
                f"--port={port}",
                "--workers=1",
            ],
            env,
            tmp / "mlflow.log",
        )
        ca = job_env[CA_VARIABLE]
        url = f"https://127.0.0.1:{port}"
        wait_http(f"{url}/health", 240, server, tmp / "mlflow.log", verify=ca)
        server_info = {
            "pid": server.pid,
            "url": url,
            "port": port,
            "ca": ca,
            "probes": [container["readinessProbe"], container["livenessProbe"]],
            "job_env": job_env,
            "gc_env": gc_env,
            "admin": (creds["MLFLOW_AUTH_ADMIN_USERNAME"], creds["MLFLOW_AUTH_ADMIN_PASSWORD"]),
            # The reader (model server, web UI): mlflow-client-credentials.
            "auth": (client["MLFLOW_TRACKING_USERNAME"], client["MLFLOW_TRACKING_PASSWORD"]),
            "pipeline": (
                pipeline["MLFLOW_TRACKING_USERNAME"],
                pipeline["MLFLOW_TRACKING_PASSWORD"],
            ),
            "env": {
                **env,
                "MLFLOW_TRACKING_URI": url,
                CA_VARIABLE: ca,
                **client,
                "HOUSE_PRICES_S3_ENDPOINT": env["MLFLOW_S3_ENDPOINT_URL"],
                "HOUSE_PRICES_S3_BUCKET": "house-prices",
            },
        }
        # An upgraded cluster: the admin made the platform's experiment and model before the
        # accounts existed; then the accounts Job runs, as it does on every deploy.
        api = f"{url}/api/2.0/mlflow"
        admin = server_info["admin"]
        for path, body in (
            ("experiments/create", {"name": "house-prices"}),
            ("registered-models/create", {"name": "house-price"}),
        ):
            made = requests.post(f"{api}/{path}", json=body, auth=admin, timeout=60, verify=ca)
            assert made.status_code == 200, made.text[:300]
            server_info.setdefault("experiment_id", made.json().get("experiment_id"))
        server_info["accounts_job"] = _accounts_job(server_info)
        yield server_info
    finally:
        if server is not None:
            _stop(server)
        _stop(moto)


def test_the_server_starts_no_job_runner(mlflow_server):
    """The rendered environment turns MLflow's job runner off: no huey workers (eight of about
    240 MB each with the default) beside the server."""
    session = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == mlflow_server["pid"]:  # the session the server leads
                session.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" "))
        except (OSError, ValueError):
            continue
    assert any(b"mlflow" in command for command in session), session
    assert not [command for command in session if b"huey" in command]


def _smoke(server, *args: str) -> subprocess.CompletedProcess:
    """Run the smoke role's script exactly as the role does (base64 through python -c), as the
    Airflow scheduler it runs in: with the pipeline account."""
    code = base64.b64encode(SMOKE_SCRIPT.read_bytes()).decode()
    user, password = server["pipeline"]
    return subprocess.run(
        [sys.executable, "-c", f"import base64;exec(base64.b64decode('{code}'))", *args],
        env={
            **server["env"],
            "MLFLOW_TRACKING_USERNAME": user,
            "MLFLOW_TRACKING_PASSWORD": password,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("mlflow:5000", 200),
        ("mlflow.mlops.svc.cluster.local:5000", 200),
        ("192.0.2.10:30500", 200),  # the NodePort on the fixture's server address
        ("evil.example:5000", 403),
        ("mlflow:5001", 403),
    ],
)
def test_rendered_allowed_hosts(mlflow_server, host, status):
    answer = requests.get(
        f"{mlflow_server['url']}/api/2.0/mlflow/experiments/search",
        params={"max_results": 1},
        headers={"Host": host},
        auth=mlflow_server["auth"],
        timeout=30,
        verify=mlflow_server["ca"],
    )
    assert answer.status_code == status, answer.text[:300]


def test_basic_auth_is_on_with_the_generated_password(mlflow_server):
    url = f"{mlflow_server['url']}/api/2.0/mlflow/experiments/search?max_results=1"
    ca = mlflow_server["ca"]
    assert requests.get(url, timeout=30, verify=ca).status_code == 401
    assert (
        requests.get(url, auth=("admin", "password1234"), timeout=30, verify=ca).status_code == 401
    )
    assert requests.get(url, auth=mlflow_server["auth"], timeout=30, verify=ca).status_code == 200


def test_metrics_answer_prometheus_with_the_password_it_mounts(mlflow_server, rendered):
    """--expose-prometheus: /metrics as the monitoring role's scrape job reads it.

    MLflow's basic-auth is fail-closed: /metrics has no permission rule, so only an admin gets
    it. Prometheus mounts the admin password alone; the reader is refused.
    """
    docs = yaml.safe_load_all((rendered.dir / "70-monitoring.yaml").read_text())
    prometheus = next(
        d for d in docs if d and d["kind"] == "Deployment" and d["metadata"]["name"] == "prometheus"
    )
    (volume,) = [
        v
        for v in prometheus["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "mlflow-credentials"
    ]
    assert volume["secret"]["secretName"] == "mlflow-credentials"
    (item,) = volume["secret"]["items"]
    secrets = {
        d["metadata"]["name"]: d["stringData"]
        for d in yaml.safe_load_all((rendered.dir / "secrets" / "30-mlflow.yaml").read_text())
    }
    password = secrets["mlflow-credentials"][item["key"]]
    url = f"{mlflow_server['url']}/metrics"
    ca = mlflow_server["ca"]
    requests.get(f"{mlflow_server['url']}/health", timeout=30, verify=ca)
    answer = requests.get(url, auth=(mlflow_server["admin"][0], password), timeout=30, verify=ca)
    assert answer.status_code == 200
    assert "mlflow_http_request_total" in answer.text
    assert requests.get(url, auth=mlflow_server["auth"], timeout=30, verify=ca).status_code == 403


def test_smoke_script_s3_round_trip(mlflow_server):
    proc = _smoke(mlflow_server, "s3-roundtrip")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("s3 ok:")


def test_smoke_script_mlflow_round_trip_and_version_check(mlflow_server):
    proc = _smoke(mlflow_server, "mlflow-roundtrip", VERSIONS["mlflow"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"mlflow ok: version {VERSIONS['mlflow']}" in proc.stdout
    # Artifacts went through the server into the S3 bucket.
    assert _smoke(mlflow_server, "s3-count", "mlflow-artifacts", "").stdout.strip() != "0"
    mismatch = _smoke(mlflow_server, "mlflow-roundtrip", "0.0.0")
    assert mismatch.returncode != 0
    assert "MLflow version mismatch" in mismatch.stderr


def _accounts_job(server) -> subprocess.CompletedProcess:
    """The mlflow-accounts Job's command with the Job's environment (its rendered values, the
    CA among them, over the client's; the server's local address for the Service)."""
    (user, password), (reader, reader_password) = server["pipeline"], server["auth"]
    env = {
        **{k: v for k, v in server["env"].items() if k != CA_VARIABLE},
        **server["job_env"],  # MLFLOW_PIPELINE_EXPERIMENTS and _MODELS among them
        "MLFLOW_TRACKING_URI": server["url"],
        "MLFLOW_PIPELINE_USERNAME": user,
        "MLFLOW_PIPELINE_PASSWORD": password,
        "MLFLOW_READER_USERNAME": reader,
        "MLFLOW_READER_PASSWORD": reader_password,
        "MLFLOW_TRACKING_USERNAME": server["admin"][0],
        "MLFLOW_TRACKING_PASSWORD": server["admin"][1],
    }
    return subprocess.run(
        [sys.executable, "-m", "house_prices.mlflow_accounts"],
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_pipeline_account_logs_registers_and_cannot_administer_users(mlflow_server):
    url, admin, pipeline = mlflow_server["url"], mlflow_server["admin"], mlflow_server["pipeline"]
    assert pipeline[0] == "pipeline" and pipeline != admin
    first = mlflow_server["accounts_job"]
    assert first.returncode == 0, first.stderr[-2000:]
    assert "'pipeline' created" in first.stdout and "'reader' created" in first.stdout
    assert "MANAGE for 'pipeline' on: experiment house-prices, model house-price" in first.stdout
    again = _accounts_job(mlflow_server)  # existing users and permissions: updated, not failed
    assert again.returncode == 0, again.stderr[-2000:]
    assert "'pipeline' updated" in again.stdout and "'reader' updated" in again.stdout
    api = f"{url}/api/2.0/mlflow"
    experiment = {"experiment_id": mlflow_server["experiment_id"]}

    ca = mlflow_server["ca"]

    def call(method, path, auth, **body):
        return requests.request(
            method, f"{api}/{path}", json=body, auth=auth, timeout=60, verify=ca
        )

    # The pipeline's work: a run with metrics and an artifact, a version, the alias, a deletion.
    run = call("POST", "runs/create", pipeline, experiment_id=experiment["experiment_id"]).json()
    run_id = run["run"]["info"]["run_id"]
    assert (
        call(
            "POST",
            "runs/log-metric",
            pipeline,
            run_id=run_id,
            key="rmse",
            value=1.0,
            timestamp=0,
            step=0,
        ).status_code
        == 200
    )
    artifact = requests.put(
        f"{url}/api/2.0/mlflow-artifacts/artifacts/{experiment['experiment_id']}/{run_id}"
        "/artifacts/model/MLmodel",
        data=b"flavors: {}\n",
        auth=pipeline,
        timeout=60,
        verify=ca,
    )
    assert artifact.status_code == 200, artifact.text[:300]

    def create_version():
        return call(
            "POST",
            "model-versions/create",
            pipeline,
            name="house-price",
            source=f"runs:/{run_id}/model",
            run_id=run_id,
        )

    version = create_version()
    assert version.status_code == 200, version.text[:300]
    number = version.json()["model_version"]["version"]
    alias = call(
        "POST",
        "registered-models/alias",
        pipeline,
        name="house-price",
        alias="champion",
        version=number,
    )
    assert alias.status_code == 200, alias.text[:300]
    second = create_version().json()["model_version"]
    deleted = call(
        "DELETE", "model-versions/delete", pipeline, name="house-price", version=second["version"]
    )
    assert deleted.status_code == 200, deleted.text[:300]
    # No user administration.
    for method, path, body in (
        ("POST", "users/create", {"username": "x", "password": "y" * 12}),
        ("PATCH", "users/update-admin", {"username": "pipeline", "is_admin": True}),
        ("PATCH", "users/update-password", {"username": admin[0], "password": "z" * 16}),
    ):
        refused = call(method, path, pipeline, **body)
        assert refused.status_code == 403, (path, refused.text[:300])
    assert (
        requests.get(
            f"{api}/experiments/search?max_results=1", auth=admin, timeout=30, verify=ca
        ).status_code
        == 200
    )


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_server_answers_https_only_verified_by_the_appliance_ca(mlflow_server):
    url, ca = mlflow_server["url"], mlflow_server["ca"]
    # The kubelet probes the scheme and path the Deployment names.
    for probe in mlflow_server["probes"]:
        get = probe["httpGet"]
        scheme = get.get("scheme", "HTTP").lower()
        answer = requests.get(
            f"{scheme}://127.0.0.1:{mlflow_server['port']}{get['path']}", timeout=10, verify=ca
        )
        assert answer.status_code == 200
    assert requests.get(f"{url}/health", timeout=10, verify=ca).status_code == 200
    # The public trust store does not know the appliance CA.
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(f"{url}/health", timeout=10)
    # No plain-HTTP listener left.
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{mlflow_server['port']}/health", timeout=10)


def test_the_mlflow_client_verifies_the_server_with_the_ca_variable(mlflow_server):
    code = (
        "import mlflow\n"
        "print(len(mlflow.MlflowClient().search_experiments(max_results=5)), 'experiments')\n"
    )
    # No retries: a refused certificate fails at once instead of after MLflow's backoff.
    env = {**mlflow_server["env"], "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    trusted = _python(code, env)
    assert trusted.returncode == 0, trusted.stderr[-2000:]
    assert "experiments" in trusted.stdout
    untrusted = _python(code, {k: v for k, v in env.items() if k != CA_VARIABLE})
    assert untrusted.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr


def test_the_smoke_script_without_the_ca_fails_verification(mlflow_server):
    env = {k: v for k, v in mlflow_server["env"].items() if k != CA_VARIABLE}
    proc = _smoke({**mlflow_server, "env": env}, "mlflow-roundtrip", VERSIONS["mlflow"])
    assert proc.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in proc.stderr


def test_the_rest_reader_verifies_with_the_tracking_ca(mlflow_server):
    """house_prices.mlflow_rest (the model server's and web UI's reader) with the client env."""
    env = mlflow_server["env"]
    reader = MlflowRest.from_env(mlflow_server["url"], env)
    assert reader.verify == mlflow_server["ca"]
    assert reader.check_version() == VERSIONS["mlflow"]
    # A model without a champion yet (the accounts Job makes the platform's model at install).
    made = requests.post(
        f"{mlflow_server['url']}/api/2.0/mlflow/registered-models/create",
        json={"name": "no-champion-yet"},
        auth=mlflow_server["admin"],
        timeout=60,
        verify=mlflow_server["ca"],
    )
    assert made.status_code == 200, made.text[:300]
    assert reader.version_by_alias("no-champion-yet") is None
    untrusted = MlflowRest.from_env(
        mlflow_server["url"], {k: v for k, v in env.items() if k != CA_VARIABLE}
    )
    with pytest.raises(MlflowUnavailable, match=f"TLS verification failed.*{CA_VARIABLE}"):
        untrusted.check_version()


def test_the_web_ui_reads_mlflow_with_the_tracking_ca(mlflow_server):
    """The web UI's MLflow reads (web/views/models.py) take the CA from its configuration."""
    code = (
        "from web import create_app\n"
        "from web.config import WebConfig\n"
        "from web.views import models\n"
        "app = create_app(WebConfig.from_env())\n"
        "with app.app_context():\n"
        "    print(models.versions('no-such-model'))\n"
    )
    trusted = _python(code, mlflow_server["env"])
    assert trusted.returncode == 0, trusted.stderr[-2000:]
    assert trusted.stdout.strip().endswith("[]")
    untrusted = _python(code, {k: v for k, v in mlflow_server["env"].items() if k != CA_VARIABLE})
    assert untrusted.returncode != 0
    assert "TLS verification failed" in untrusted.stderr


def test_the_gc_cronjob_deletes_artifacts_through_the_server_over_tls(mlflow_server):
    """`mlflow gc` with the CronJob's rendered environment (the CA its mount gives)."""
    url, ca, admin = mlflow_server["url"], mlflow_server["ca"], mlflow_server["admin"]
    api = f"{url}/api/2.0/mlflow"

    def call(method, path, **body):
        answer = requests.request(
            method, f"{api}/{path}", json=body, auth=admin, timeout=60, verify=ca
        )
        assert answer.status_code == 200, answer.text[:300]
        return answer.json()

    experiment = call("POST", "experiments/create", name="gc-over-tls")["experiment_id"]
    run_id = call("POST", "runs/create", experiment_id=experiment)["run"]["info"]["run_id"]
    artifact = f"{url}/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run_id}/artifacts/gc.txt"
    put = requests.put(artifact, data=b"collect me", auth=admin, timeout=60, verify=ca)
    assert put.status_code == 200, put.text[:300]
    call("POST", "runs/delete", run_id=run_id)
    gc_env = mlflow_server["gc_env"]
    assert gc_env[CA_VARIABLE]
    env = {
        **{k: v for k, v in mlflow_server["env"].items() if k != CA_VARIABLE},
        **gc_env,
        "MLFLOW_TRACKING_URI": url,
        "MLFLOW_TRACKING_USERNAME": admin[0],
        "MLFLOW_TRACKING_PASSWORD": admin[1],
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    gc = [str(VENV_BIN / "mlflow"), "gc", "--backend-store-uri", env["MLFLOW_BACKEND_STORE_URI"]]
    untrusted = subprocess.run(
        gc,
        env={k: v for k, v in env.items() if k != CA_VARIABLE},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert untrusted.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stdout + untrusted.stderr
    server_env = mlflow_server["env"]
    s3 = boto3.client(
        "s3",
        endpoint_url=server_env["MLFLOW_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=server_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=server_env["AWS_SECRET_ACCESS_KEY"],
    )

    def stored() -> int:
        listed = s3.list_objects_v2(Bucket="mlflow-artifacts", Prefix=f"{experiment}/{run_id}/")
        return listed.get("KeyCount", 0)

    assert stored() == 1
    done = subprocess.run(gc, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert stored() == 0


def test_reader_account_reads_and_changes_nothing(mlflow_server):
    """The model server's, web UI's and Prometheus' account under the READ default permission."""
    api, reader = f"{mlflow_server['url']}/api/2.0/mlflow", mlflow_server["auth"]
    assert reader[0] == "reader"
    experiment_id = mlflow_server["experiment_id"]

    def call(method, path, **body):
        return requests.request(
            method, f"{api}/{path}", json=body, auth=reader, timeout=60, verify=mlflow_server["ca"]
        )

    assert call("GET", "registered-models/get?name=house-price").status_code == 200
    found = call("POST", "runs/search", experiment_ids=[experiment_id], max_results=5)
    assert found.status_code == 200, found.text[:300]
    for method, path, body in (
        ("POST", "runs/create", {"experiment_id": experiment_id}),
        ("POST", "model-versions/create", {"name": "house-price", "source": "s3://x/model"}),
        (
            "POST",
            "registered-models/alias",
            {"name": "house-price", "alias": "champion", "version": "1"},
        ),
        ("DELETE", "registered-models/delete", {"name": "house-price"}),
        ("POST", "experiments/delete", {"experiment_id": experiment_id}),
    ):
        refused = call(method, path, **body)
        assert refused.status_code == 403, (path, refused.status_code, refused.text[:300])
