"""Cluster retention as rendered: the mlflow-gc and prediction-log-retention CronJobs, the
task-log bucket's lifecycle rule (the bootstrap Job's script run against an S3 server) and
the KubernetesExecutor's pod deletion."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from testsupport import prediction_log

from . import policy
from .conftest import REPO


def _doc(render, kind: str, name: str) -> dict:
    (doc,) = [d for d in render.docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def _cron_pod(render, name: str) -> dict:
    return _doc(render, "CronJob", name)["spec"]["jobTemplate"]["spec"]["template"]


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def _secret_refs(container: dict) -> set[tuple[str, str]]:
    return {
        (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }


@pytest.mark.parametrize("fixture", ["rendered", "rendered_nodeport"])
def test_mlflow_gc_cronjob_uses_the_servers_secret_and_image(request, fixture):
    render = request.getfixturevalue(fixture)
    cron = _doc(render, "CronJob", "mlflow-gc")
    assert cron["spec"]["schedule"] == "30 3 * * *"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = _cron_pod(render, "mlflow-gc")
    (container,) = pod["spec"]["containers"]
    server = _doc(render, "Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == server["image"]
    assert (
        container["command"][-1] == 'exec mlflow gc --backend-store-uri "$MLFLOW_BACKEND_STORE_URI"'
    )
    env = {e["name"]: e.get("value") for e in container["env"]}
    # The nodeport render has TLS off.
    scheme = "https" if fixture == "rendered" else "http"
    assert env["MLFLOW_TRACKING_URI"] == f"{scheme}://mlflow:5000"
    refs = _secret_refs(container)
    assert ("mlflow-credentials", "MLFLOW_BACKEND_STORE_URI") in refs
    auth = fixture == "rendered"
    assert (("mlflow-credentials", "MLFLOW_AUTH_ADMIN_PASSWORD") in refs) is auth
    assert ("MLFLOW_TRACKING_PASSWORD" in env) is auth
    assert "envFrom" not in container
    service = _doc(render, "Service", "mlflow")
    assert not _selects(service["spec"]["selector"], pod["metadata"]["labels"])
    assert policy.validate_schema([cron]) == []


def test_prediction_log_cronjob_gets_only_the_log_url(rendered):
    pod = _cron_pod(rendered, "prediction-log-retention")
    (container,) = pod["spec"]["containers"]
    assert _secret_refs(container) == {("model-server-credentials", "MODEL_SERVER_DATABASE_URL")}
    assert "envFrom" not in container
    assert pod["spec"]["automountServiceAccountToken"] is False
    service = _doc(rendered, "Service", "model-server")
    assert not _selects(service["spec"]["selector"], pod["metadata"]["labels"])
    # Task pods still get no database URL: the CronJob is where the log is pruned.
    template = yaml.safe_load(
        _doc(rendered, "ConfigMap", "airflow-pod-template")["data"]["pod_template.yaml"]
    )
    task_secrets = {
        ref["secretRef"]["name"]
        for c in template["spec"]["containers"]
        for ref in c.get("envFrom", [])
        if "secretRef" in ref
    }
    assert not task_secrets & {
        "model-server-credentials",
        "mlflow-credentials",
        "airflow-credentials",
    }


def test_prediction_log_cronjob_command_prunes_old_rows(rendered, tmp_path):
    (container,) = _cron_pod(rendered, "prediction-log-retention")["spec"]["containers"]
    url = f"sqlite:///{tmp_path}/predictions.db"
    prediction_log.write_aged_rows(url, (1, 29, 31, 90), datetime.now(UTC))
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env.update(
        {"MODEL_SERVER_DATABASE_URL": url, "PYTHONPATH": str(REPO), "PATH": os.environ["PATH"]}
    )
    command = [sys.executable if container["command"][0] == "python" else container["command"][0]]
    result = subprocess.run(
        command + container["command"][1:], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "2 row(s) older than 30 days deleted" in result.stdout
    assert prediction_log.request_ids(url) == ["age1", "age29"]


def _run_bucket_job(render, s3_url: str, **overrides: str) -> subprocess.CompletedProcess:
    # Job names carry a hash of their spec: a changed number of days runs the Job again.
    (job,) = [
        d
        for d in render.docs
        if d["kind"] == "Job"
        and d["metadata"]["labels"].get("house-prices/job") == "seaweedfs-buckets"
    ]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    env.update(
        S3_ENDPOINT=s3_url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        **overrides,
    )
    env["PATH"] = os.environ["PATH"]
    assert container["command"] == ["python", "-c"]
    return subprocess.run(
        [sys.executable, "-c", container["args"][0]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_task_log_bucket_gets_an_expiration_rule(rendered, s3_url):
    result = _run_bucket_job(rendered, s3_url)
    assert result.returncode == 0, result.stderr
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket="airflow-logs")["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Expiration"] == {"Days": 30}
    assert rule["Filter"] == {"Prefix": ""}
    with pytest.raises(ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket="mlflow-artifacts")
    # 0 keeps the logs for ever: the rule is removed again.
    result = _run_bucket_job(rendered, s3_url, LOG_DAYS="0")
    assert result.returncode == 0, result.stderr
    with pytest.raises(ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket="airflow-logs")


def test_task_pods_are_deleted_when_they_fail_too(rendered):
    config = _doc(rendered, "ConfigMap", "airflow-config")["data"]
    assert config["AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS"] == "True"
    assert config["AIRFLOW__KUBERNETES_EXECUTOR__DELETE_WORKER_PODS_ON_FAILURE"] == "True"
