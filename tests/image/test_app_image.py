"""The built application image: what it is made of, and every manifest command run in it.

The platform tests start the containers the rendered manifests define (same command, args,
env, user, volumes) in the image scripts/app-image.sh built, against real PostgreSQL and S3
servers, and wait for each container's own readiness probe (see conftest.py for what stands
in for Kubernetes).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml

from tests.manifests.conftest import REPO

from .conftest import SERVICES, ULIMITS, podman, psql

sys.path.insert(0, str(REPO / "scripts"))
import context_hash

pytestmark = pytest.mark.image

VERSIONS = yaml.safe_load((REPO / "versions.yml").read_text())


def test_containerfile_default_base_is_the_fully_qualified_versions_pin():
    text = (REPO / "containers" / "Containerfile").read_text()
    pin = VERSIONS["images"]["python"]
    assert f"ARG BASE_IMAGE={pin['registry']}/{pin['repository']}:{pin['tag']}\n" in text
    # A short name is what Rocky 9's podman refuses without a terminal.
    assert "." in pin["registry"] and "latest" not in pin["tag"]
    assert pin["tag"].startswith(VERSIONS["python"])
    assert "USER ${APP_UID}" in text and "ARG APP_UID=50000" in text
    assert "requirements-runtime.lock" in text


def test_context_hash_covers_exactly_what_the_image_is_built_from(tmp_path):
    files = context_hash.context_files()
    assert "containers/Containerfile" in files and "requirements-runtime.lock" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    tops = {f.split("/")[0] for f in files}
    assert tops == set(context_hash.CONTEXT_PATHS)
    # Every directory the Containerfile copies is hashed.
    copied = re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", _containerfile(), re.M)
    assert {word for line in copied for word in line.split()} <= set(context_hash.CONTEXT_PATHS)
    # A copy with byte caches added hashes the same; a changed file does not.
    for name in context_hash.CONTEXT_PATHS:
        source = REPO / name
        target = tmp_path / name
        if source.is_dir():
            subprocess.run(["cp", "-r", str(source), str(target)], check=True)
        else:
            target.write_bytes(source.read_bytes())
    (tmp_path / "web" / "__pycache__").mkdir(exist_ok=True)
    (tmp_path / "web" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"cache")
    assert context_hash.context_hash(tmp_path) == context_hash.context_hash()
    dag = next((tmp_path / "dags").glob("*.py"))
    dag.write_text(dag.read_text() + "\n")
    assert context_hash.context_hash(tmp_path) != context_hash.context_hash()


def _containerfile() -> str:
    return (REPO / "containers" / "Containerfile").read_text()


def test_image_carries_its_tag_labels_and_no_build_settings(app_image):
    info = json.loads(podman("image", "inspect", app_image).stdout)[0]
    labels = info["Labels"]
    version = context_hash.project_version()
    assert app_image.endswith(f":{version}-{context_hash.context_hash()}")
    assert labels["org.opencontainers.image.version"] == version
    assert labels["house-price-appliance.content-hash"] == context_hash.context_hash()
    env = info["Config"]["Env"]
    assert not [e for e in env if e.startswith("PIP_")], env
    history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}}", app_image).stdout
    assert "PIP_INDEX_URL" not in history and "PIP_EXTRA_INDEX_URL" not in history
    assert "PIP_FIND_LINKS" not in history
    assert info["Config"]["User"] == "50000"


def test_source_tree_is_read_only_to_the_app_user(app_image):
    script = (
        "import os, sys, mlflow, airflow, house_prices;"
        "paths=[os.path.dirname(m.__file__) for m in (mlflow, airflow, house_prices)]"
        "+['/opt/airflow/dags', sys.prefix];"
        "print(json.dumps({p: os.access(p, os.W_OK) for p in paths}))"
    )
    proc = podman(
        "run",
        "--rm",
        *ULIMITS,
        "--user=50000:0",
        app_image,
        "python",
        "-c",
        "import json;" + script,
    )
    writable = json.loads(proc.stdout)
    assert writable and not any(writable.values()), writable
    # The build tools stay in the build stage.
    tools = podman(
        "run", "--rm", *ULIMITS, app_image, "sh", "-c", "command -v pip gcc cc || true", check=False
    )
    assert tools.stdout.strip() == "", tools.stdout


def test_services_keep_their_ports(manifests):
    """The harness maps Service names to container addresses: the ports must be the same."""
    ports = manifests.service_ports()
    for service in SERVICES[:-1]:
        for port, target in ports[service]:
            assert target in ("http", port), (service, port, target)


@pytest.fixture(scope="module")
def platform(pods, manifests, postgres, s3):
    """Start every container of our image the manifests define; wait for each probe."""
    started = {}

    def mlflow_side():
        started["data-api"] = pods.start_plain(
            "data-api", ["data-api-emulator", "--host", "0.0.0.0", "--port", "8900"]
        )
        started["mlflow"] = pods.start("Deployment", "mlflow", "mlflow", "mlflow")
        started["mlflow-health"] = started["mlflow"].wait_healthy(240)
        started["model-server"] = pods.start(
            "Deployment", "model-server", "model-server", "model-server"
        )
        started["web-ui"] = pods.start("Deployment", "web-ui", "web-ui", "web-ui")

    def airflow_side():
        spec = manifests.pod_spec("Job", _migrate_job(manifests))
        started["migrate"] = pods.run_to_completion("job-migrate", spec, spec["containers"][0])
        if started["migrate"].returncode != 0:
            return
        started["api-server"] = pods.start(
            "Deployment", "airflow-api-server", "api-server", "airflow-api-server"
        )
        for component in ("scheduler", "dag-processor", "triggerer"):
            started[component] = pods.start("Deployment", f"airflow-{component}", component)

    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(mlflow_side), pool.submit(airflow_side)]:
            future.result()
    return started


def _migrate_job(manifests) -> str:
    return next(
        d["metadata"]["name"]
        for d in manifests.docs
        if d["kind"] == "Job" and d["metadata"]["name"].startswith("airflow-db-migrate")
    )


def test_airflow_db_migrate_job_creates_the_schema(platform, postgres):
    migrate = platform["migrate"]
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    version = psql(postgres, "airflow", "select version_num from alembic_version")
    assert re.fullmatch(r"[0-9a-f]{12}", version), version


def test_mlflow_server_is_healthy_on_postgresql_and_s3(platform, postgres):
    assert platform["mlflow-health"].strip() == "OK"
    tables = psql(postgres, "mlflow", "select tablename from pg_tables where schemaname='public'")
    assert {"experiments", "runs", "registered_models"} <= set(tables.split())


@pytest.mark.parametrize("component", ["api-server", "dag-processor", "triggerer"])
def test_airflow_component_is_ready(platform, component):
    assert component in platform, "the airflow db migrate Job failed first"
    answer = platform[component].wait_healthy(300)
    if component == "api-server":
        assert json.loads(answer)["metadatabase"]["status"] == "healthy"


def test_scheduler_gets_as_far_as_the_kubernetes_api(platform):
    """The one component that cannot become healthy here: its KubernetesExecutor asks the
    in-cluster Kubernetes API for pods at start, and no API server exists on these machines.
    Everything before that (configuration, read-only root, database, executor) must work: the
    scheduler may stop only on the missing in-cluster API, nothing else."""
    scheduler = platform["scheduler"]
    deadline = time.monotonic() + 300
    while scheduler.running() and time.monotonic() < deadline:
        time.sleep(3)
    logs = scheduler.logs(400)
    assert not scheduler.running(), "the scheduler ran without a Kubernetes API?\n" + logs[-3000:]
    assert "Service host/port is not set" in logs, logs[-3000:]
    assert "KubernetesExecutor" in logs or "kubernetes_executor" in logs, logs[-3000:]
    for earlier_failure in ("Read-only file system", "Permission denied", "OperationalError"):
        assert earlier_failure not in logs, logs[-3000:]


def test_model_server_is_alive_and_not_ready_without_a_champion(platform):
    server = platform["model-server"]
    assert json.loads(server.wait_healthy(180, "livenessProbe"))
    with pytest.raises(AssertionError, match="HTTP 503"):
        server.probe("readinessProbe")


def test_web_ui_is_ready(platform):
    assert platform["web-ui"].wait_healthy(180)


def test_dag_processor_parsed_the_pipeline_from_the_read_only_dags(platform, postgres):
    platform["dag-processor"].wait_healthy(300)
    for _ in range(60):
        rows = psql(postgres, "airflow", "select dag_id from dag")
        if "house_price_pipeline" in rows.split():
            return
        subprocess.run(["sleep", "3"], check=True)
    pytest.fail(f"house_price_pipeline never parsed:\n{platform['dag-processor'].logs()}")


# What the scheduler's KubernetesExecutor does for a queued task instance, minus the Kubernetes
# API call: queue it, make the ExecuteTask workload (with a token signed by the Execution API's
# key) and print the JSON it would put into the worker pod's args
# (airflow.providers.cncf.kubernetes.pod_generator.workload_to_command_args).
MAKE_WORKLOAD = """
import sys
from airflow.api_fastapi.auth.tokens import JWTGenerator, get_signing_args
from airflow.configuration import conf
from airflow.executors.workloads import ExecuteTask
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session
from airflow.utils.state import TaskInstanceState

dag_id, run_id, task_id = sys.argv[1:4]
generator = JWTGenerator(
    valid_for=conf.getint("execution_api", "jwt_expiration_time"),
    audience=conf.get_mandatory_list_value("execution_api", "jwt_audience")[0],
    issuer=conf.get("api_auth", "jwt_issuer", fallback=None),
    **get_signing_args(make_secret_key_if_needed=False),
)
with create_session() as session:
    ti = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=run_id, task_id=task_id).one()
    ti.state = TaskInstanceState.QUEUED
    session.flush()
    print(ExecuteTask.make(ti, generator=generator).model_dump_json())
"""


def _api_token(manifests, api) -> str:
    user, password = next(
        iter(json.loads(manifests.secrets["airflow-credentials"]["passwords.json"]).items())
    )
    answer = requests.post(
        f"http://{api.ip}:{api.port('http')}/auth/token",
        json={"username": user, "password": password},
        timeout=30,
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["access_token"]


def test_worker_pod_runs_the_ingest_task_through_the_execution_api(
    platform, pods, manifests, postgres, s3
):
    """A DAG run made through the api-server; its first task run by the pod template's container
    with the command the KubernetesExecutor gives a worker pod, as uid 50000 on a read-only root
    with the template's emptyDirs. Effects: the task instance is a success in Airflow's
    database, the batch is in S3, its XCom went back through the Execution API, and its log was
    shipped to the S3 log bucket (the pod's own log directory dies with the pod)."""
    assert "api-server" in platform, "Airflow did not start"
    api = platform["api-server"]
    api.wait_healthy(300)
    dag_id = "house_price_pipeline"
    for _ in range(100):
        if dag_id in psql(postgres, "airflow", "select dag_id from dag").split():
            break
        time.sleep(3)
    token = _api_token(manifests, api)
    answer = requests.post(
        f"http://{api.ip}:{api.port('http')}/api/v2/dags/{dag_id}/dagRuns",
        headers={"Authorization": f"Bearer {token}"},
        json={"logical_date": None, "conf": {"group_number": 5, "day": "Tuesday"}},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["dag_run_id"]

    # In the scheduler pod's container (its env: database, signing key), not in the scheduler
    # process: here the KubernetesExecutor cannot start (no Kubernetes API, see the docstring).
    scheduler = manifests.pod_spec("Deployment", "airflow-scheduler")
    made = pods.run_to_completion(
        "deployment-airflow-scheduler",
        scheduler,
        scheduler["containers"][0],
        timeout=180,
        command=["python", "-c", MAKE_WORKLOAD, dag_id, run_id, "ingest"],
    )
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    workload = made.stdout.strip().splitlines()[-1]
    assert json.loads(workload)["ti"]["task_id"] == "ingest"

    spec = manifests.task_pod_spec()
    base = next(c for c in spec["containers"] if c["name"] == "base")
    assert base["securityContext"]["readOnlyRootFilesystem"] is True
    started = time.monotonic()
    done = pods.run_to_completion(
        "task-ingest",
        spec,
        base,
        timeout=600,
        command=[
            "python",
            "-m",
            "airflow.sdk.execution_time.execute_workload",
            "--json-string",
            workload,
        ],
    )
    elapsed = time.monotonic() - started
    output = done.stdout[-4000:] + done.stderr[-4000:]
    assert done.returncode == 0, output
    state = psql(
        postgres,
        "airflow",
        f"select state from task_instance where run_id='{run_id}' and task_id='ingest'",
    )
    assert state == "success", output
    raw = s3.list_objects_v2(Bucket="house-prices").get("Contents", [])
    assert [o["Key"] for o in raw if o["Key"].endswith(".parquet")], raw
    xcom = psql(
        postgres, "airflow", f"select value from xcom where run_id='{run_id}' and task_id='ingest'"
    )
    assert "raw_keys" in xcom, xcom
    logs = s3.list_objects_v2(Bucket="airflow-logs").get("Contents", [])
    assert [o["Key"] for o in logs if f"run_id={run_id}" in o["Key"]], logs
    print(f"task pod ran ingest in {elapsed:.1f} s")
