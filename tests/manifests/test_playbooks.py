"""The playbooks parse, and bad inputs stop a run with a message that says what to fix."""

from __future__ import annotations

import pytest

from testsupport.ansible import run_playbook
from testsupport.render import copy_inventory

PLAYBOOKS = [
    "platform.yml",
    "apps.yml",
    "smoke.yml",
    "render.yml",
    "secrets.yml",
    "backup.yml",
    "restore.yml",
]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax(playbook, tmp_path):
    inventory = copy_inventory(tmp_path / "inventory")
    proc = run_playbook(playbook, inventory, "--syntax-check")
    assert "playbook:" in proc.stdout


def test_platform_play_targets_first_server_and_all_nodes(tmp_path):
    inventory = copy_inventory(tmp_path / "inventory")
    proc = run_playbook("platform.yml", inventory, "--list-hosts")
    plays = proc.stdout.split("play #")[1:]
    hosts = {p.split("(", 1)[1].split(")", 1)[0]: p for p in plays}
    assert "k3s-agent-1" in hosts["k3s_cluster"]  # images reach every node
    assert "k3s-server-1" in hosts["k3s_cluster"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"platform_data_api_url": ""}, "platform_data_api_url must be the http(s) URL"),
        ({"platform_data_api_url": "ftp://x"}, "platform_data_api_url must be the http(s) URL"),
        ({"platform_namespace": "MLOps"}, "platform_namespace must be a DNS label"),
        (
            {
                "platform_nodeports": {
                    "airflow": 30080,
                    "mlflow": 30080,
                    "model_server": 30800,
                    "web_ui": 30501,
                }
            },
            "each a distinct port",
        ),
        (
            {
                "platform_nodeports": {
                    "airflow": 8080,
                    "mlflow": 30500,
                    "model_server": 30800,
                    "web_ui": 30501,
                }
            },
            "in 30000-32767",
        ),
    ],
)
def test_bad_inputs_fail_with_a_fix_it_message(tmp_path, extra, message):
    import json

    inventory = copy_inventory(tmp_path / "inventory")
    proc = run_playbook(
        "render.yml",
        inventory,
        "-e",
        f"render_dir={tmp_path / 'out'}",
        "-e",
        json.dumps(extra),
        check=False,
    )
    assert proc.returncode != 0
    assert message in proc.stdout
    assert not list((tmp_path / "out").glob("*.yaml"))


def test_render_needs_an_absolute_directory(tmp_path):
    inventory = copy_inventory(tmp_path / "inventory")
    proc = run_playbook("render.yml", inventory, check=False)
    assert proc.returncode != 0
    assert "-e render_dir=/path/to/dir" in proc.stdout


def test_platform_refuses_to_run_without_a_kubeconfig(tmp_path):
    """Outside render mode the roles need the kubeconfig the cluster playbook fetched."""
    inventory = copy_inventory(tmp_path / "inventory")
    proc = run_playbook("apps.yml", inventory, check=False)
    assert proc.returncode != 0
    assert "No kubeconfig at" in proc.stdout and "playbooks/cluster.yml" in proc.stdout
