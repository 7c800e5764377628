"""The smoke role's external checks over real TLS: its own tasks (roles/smoke/tasks/
serving_requests.yml, through the role with its dependencies) against a real model server and
web UI under gunicorn serving the platform_tls certificates.

The servers run as the rendered Deployments run them (GUNICORN_CMD_ARGS with the certificate
paths swapped for the role's files, the rendered API keys Secret), on the NodePorts the
inventory is given, at 127.0.0.1 (on every certificate). The role verifies them against the CA
platform_tls copies next to the kubeconfig; given another CA, the smoke test fails.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testsupport.ansible import ansible_playbook, local_playbook
from testsupport.model_server import REPO, Gunicorn
from testsupport.servers import start, stop_process, wait_http

pytestmark = pytest.mark.integration

MANIFEST_TLS_DIR = "/etc/platform-tls"


def _nodeport(taken: set[int]) -> int:
    """A free port in the NodePort range (the role's pre-checks allow no other)."""
    while True:
        port = random.randint(30000, 32767)
        if port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port


def _env(docs: list[dict], deployment: str) -> dict[str, str]:
    (found,) = [
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == deployment
    ]
    return {
        e["name"]: e["value"] for e in found["spec"]["template"]["spec"]["containers"][0]["env"]
    }


def _tls_args(args: str, tls: Path, key: str) -> str:
    return args.replace(f"{MANIFEST_TLS_DIR}/tls.crt", str(tls / f"{key}.crt")).replace(
        f"{MANIFEST_TLS_DIR}/tls.key", str(tls / f"{key}.key")
    )


@pytest.fixture(scope="module")
def appliance(tmp_path_factory, mlflow_server, rendered):
    """The session's rendered inventory (certificates, secrets; a private copy) and its model
    server and web UI serving TLS on two NodePorts; yields (inventory, render dir, NodePorts)."""
    tmp = tmp_path_factory.mktemp("smoke-tls")
    inventory = tmp / "inventory"
    shutil.copytree(rendered.inventory, inventory)
    out, docs = rendered.dir, rendered.docs
    secrets = [
        doc
        for path in sorted((out / "secrets").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    (credentials,) = [s for s in secrets if s["metadata"]["name"] == "model-server-credentials"]
    tls = inventory / "secrets" / "tls"
    ca = tls / "ca.crt"
    taken: set[int] = set()
    ports = {name: _nodeport(taken) for name in ("airflow", "mlflow", "model_server", "web_ui")}

    model_env = _env(docs, "model-server")
    model_server = Gunicorn(
        tmp / "model-server",
        {
            "MODEL_SERVER_BIND": f"127.0.0.1:{ports['model_server']}",
            "MLFLOW_TRACKING_URI": mlflow_server.url,
            "MODEL_SERVER_AUTH": model_env["MODEL_SERVER_AUTH"],
            "MODEL_SERVER_API_KEYS": credentials["stringData"]["MODEL_SERVER_API_KEYS"],
            "GUNICORN_CMD_ARGS": _tls_args(model_env["GUNICORN_CMD_ARGS"], tls, "model_server"),
        },
    )
    web_env = _env(docs, "web-ui")
    web_log = tmp / "web.log"
    web = start(
        [str(Path(sys.executable).parent / "gunicorn"), "--no-control-socket",
         "-b", f"127.0.0.1:{ports['web_ui']}", "web.wsgi:app"],
        web_log,
        {
            "PYTHONPATH": str(REPO),
            "MODEL_SERVER_URL": f"https://127.0.0.1:{ports['model_server']}",
            "PLATFORM_CA_FILE": str(ca),
            "WEB_SECRET_KEY": "a-test-secret-key-for-the-web-ui",
            "WEB_SECURE_COOKIES": web_env["WEB_SECURE_COOKIES"],
            "GUNICORN_CMD_ARGS": _tls_args(web_env["GUNICORN_CMD_ARGS"], tls, "web_ui"),
        },
        cwd=REPO,
    )  # fmt: skip
    try:
        wait_http(
            f"https://127.0.0.1:{ports['model_server']}/ready",
            120,
            model_server.process,
            model_server.log_path,
            verify=str(ca),
        )
        wait_http(f"https://127.0.0.1:{ports['web_ui']}/health", 120, web, web_log, verify=str(ca))
        yield inventory, out, ports
    finally:
        stop_process(web)
        model_server.terminate(timeout=30)


def _run_smoke_requests(appliance, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    """The smoke role's serving_requests.yml, as the role runs it, on the appliance's ports."""
    inventory, out, ports = appliance
    # The image tag is given: no build context here.
    playbook = local_playbook(
        tmp,
        "smoke-requests.yml",
        {
            "name": "The smoke role's requests to the model server and the web UI",
            "vars": {"platform_render_dir": str(out)},
            "tasks": [
                {
                    "name": "Run the smoke role's serving requests",
                    "ansible.builtin.include_role": {
                        "name": "smoke",
                        "tasks_from": "serving_requests.yml",
                    },
                }
            ],
        },
    )
    return ansible_playbook(
        playbook, "-i", str(inventory),
        "-e", json.dumps({"platform_nodeports": ports, "smoke_external_host": "127.0.0.1",
                          "platform_app_image_tag": "smoke-tls-test"}),
        *extra, check=False,
    )  # fmt: skip


def _key(appliance) -> str:
    inventory, _, _ = appliance
    values = yaml.safe_load((inventory / "secrets" / "platform.yml").read_text())
    return values["model_server_api_key_smoke"]


def test_smoke_requests_pass_over_tls_verified_with_the_exported_ca(appliance, tmp_path):
    proc = _run_smoke_requests(appliance, tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
    for task in (
        "Check that the model server priced the listing",
        "Check that the model server explained the listing",
        "Check the web UI through the NodePort",
    ):
        assert f"TASK [smoke : {task}]" in proc.stdout, proc.stdout[-3000:]
    # The CA the role verified with is the one platform_tls exported next to the kubeconfig.
    inventory, _, _ = appliance
    exported = inventory / "secrets" / "appliance-ca.crt"
    assert exported.read_text() == (inventory / "secrets" / "tls" / "ca.crt").read_text()
    assert _key(appliance) not in proc.stdout + proc.stderr


def test_smoke_requests_fail_when_the_ca_is_not_the_appliances(appliance, tmp_path):
    other_key, other_ca = tmp_path / "other-ca.key", tmp_path / "other-ca.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(other_key), "-out", str(other_ca), "-days", "2",
         "-subj", "/CN=other CA"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    # (_smoke_ca_path, not platform_tls_ca_export_path: platform_tls would copy its CA there.)
    proc = _run_smoke_requests(appliance, tmp_path, "-e", f"_smoke_ca_path={other_ca}")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    assert "Check that the model server priced the listing" in output
    assert "CERTIFICATE_VERIFY_FAILED" in output, output[-3000:]
    assert _key(appliance) not in output
