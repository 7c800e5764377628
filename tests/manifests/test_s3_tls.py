"""The S3 gateway over TLS, as the rendered manifests configure it, reached by verifying clients.

No SeaweedFS binary here: moto's S3 server stands in, serving the certificate and key the
rendered SeaweedFS StatefulSet passes to -s3.cert.file/-s3.key.file (the seaweedfs-tls Secret
mounted at its path). The clients are boto3 with the rendered endpoints (host moved to the
local server) and the appliance CA from the platform-ca ConfigMap as AWS_CA_BUNDLE; the bucket
Job runs its own rendered script with its own environment.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import boto3
import botocore.exceptions
import pytest
import requests

from testsupport.postgres import _docs, _volume_files
from testsupport.servers import free_port, start, stop_process

from .conftest import VENV_BIN
from .test_tls_data_clients import _containers, _s3_endpoints

pytestmark = pytest.mark.integration

IN_CLUSTER = "://seaweedfs:8333"
# Variables of this machine that would change what boto3 trusts or where it goes.
UNSET = ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "AWS_ENDPOINT_URL",
         "AWS_PROFILE", "HTTPS_PROXY", "https_proxy")  # fmt: skip


@pytest.fixture(scope="module")
def tls_s3(rendered, tmp_path_factory):
    render = rendered
    tmp = tmp_path_factory.mktemp("s3-tls")
    (sts,) = [d for d in _docs(render, "20-seaweedfs.yaml") if d["kind"] == "StatefulSet"]
    pod = sts["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    flags = dict(a.split("=", 1) for a in container["args"] if a.startswith("-s3.") and "=" in a)
    assert "-s3.cert.file" in flags and "-s3.key.file" in flags, container["args"]
    # The files behind those paths: the Secret volume mounted there.
    volumes = {v["name"]: v for v in pod["volumes"]}
    local = {}
    for mount in container["volumeMounts"]:
        for flag in ("-s3.cert.file", "-s3.key.file"):
            if flags[flag].startswith(mount["mountPath"] + "/"):
                files = _volume_files(render, volumes[mount["name"]])
                path = tmp / flag.strip("-")
                path.write_text(files[flags[flag][len(mount["mountPath"]) + 1 :]])
                local[flag] = path
    ca = tmp / "ca.crt"
    ca.write_text(_volume_files(render, {"configMap": {"name": "platform-ca"}})["ca.crt"])
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    process = start(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port),
         "-c", str(local["-s3.cert.file"]), "-k", str(local["-s3.key.file"])],
        tmp / "moto.log", unset=UNSET,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{url}/moto-api/", verify=str(ca), timeout=2).ok:
                    break
            assert process.poll() is None, (tmp / "moto.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "moto did not start"
            time.sleep(0.3)
        yield {"port": port, "ca": ca, "tmp": tmp}
    finally:
        stop_process(process)


def _local(endpoint: str, s3: dict) -> str:
    assert IN_CLUSTER in endpoint, endpoint
    return endpoint.replace(IN_CLUSTER, f"://127.0.0.1:{s3['port']}")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    return {**env, **extra}


def test_bucket_job_runs_its_script_over_verified_tls(rendered, tls_s3):
    render = rendered
    (job,) = [d for d in _docs(render, "20-seaweedfs.yaml") if d["kind"] == "Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["S3_ENDPOINT"].startswith("https://")
    assert env["AWS_CA_BUNDLE"] == "/etc/platform-ca/ca.crt"
    # The real Secret (render_secrets=true) comes before its redacted copy.
    admin = next(
        d
        for d in _docs(render, "20-seaweedfs.yaml")
        if d["kind"] == "Secret" and d["metadata"]["name"] == "s3-admin-credentials"
    )
    run_env = _clean_env(
        **{**admin["stringData"], **env,
           "S3_ENDPOINT": _local(env["S3_ENDPOINT"], tls_s3), "AWS_CA_BUNDLE": str(tls_s3["ca"])}
    )  # fmt: skip
    assert container["command"] == ["python", "-c"]

    def run(environment):
        return subprocess.run(
            [sys.executable, "-c", container["args"][0]],
            env=environment, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    # Without the appliance CA the gateway is not trusted: the script stops at once.
    untrusted = run({k: v for k, v in run_env.items() if k != "AWS_CA_BUNDLE"})
    assert untrusted.returncode != 0 and "SSL" in untrusted.stderr, untrusted.stderr[-2000:]
    proc = run(run_env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for bucket in env["BUCKETS"].split(","):
        assert f"bucket {bucket} created" in proc.stdout


def test_every_rendered_endpoint_verifies_with_the_appliance_ca(
    rendered, tls_s3, tmp_path, monkeypatch
):
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    endpoints = {
        endpoint for *_, env, _, _ in _containers(rendered) for endpoint in _s3_endpoints(env)
    }
    assert endpoints == {"https://seaweedfs:8333"}
    (endpoint,) = endpoints

    def client():
        return boto3.client(
            "s3", endpoint_url=_local(endpoint, tls_s3), region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip

    monkeypatch.setenv("AWS_CA_BUNDLE", str(tls_s3["ca"]))
    client().create_bucket(Bucket="verified")
    assert "verified" in [b["Name"] for b in client().list_buckets()["Buckets"]]
    # Another CA (here: the system's public ones) does not trust the gateway.
    monkeypatch.delenv("AWS_CA_BUNDLE")
    with pytest.raises(botocore.exceptions.SSLError):
        client().list_buckets()


def test_pipeline_and_web_ui_store_verifies_with_the_rendered_settings(
    rendered, tls_s3, monkeypatch
):
    """house_prices.storage (minio, which ignores AWS_CA_BUNDLE by itself) with the web UI's
    rendered S3 settings: it trusts the CA named by AWS_CA_BUNDLE, and nothing else."""
    from house_prices.storage import S3Store, StorageError

    (web,) = [env for name, _, env, _, _ in _containers(rendered) if name == "web-ui"]
    assert web["AWS_CA_BUNDLE"] == "/etc/platform-ca/ca.crt"
    endpoint = _local(web["HOUSE_PRICES_S3_ENDPOINT"], tls_s3)
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tls_s3["ca"]))
    store = S3Store(endpoint, "house-prices-web", "testing", "testing")
    store.ensure_bucket()
    store.put("reports/x.json", b"{}")
    assert store.get("reports/x.json") == b"{}"
    monkeypatch.delenv("AWS_CA_BUNDLE")
    with pytest.raises(StorageError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        S3Store(endpoint, "house-prices-web", "testing", "testing").ensure_bucket()
