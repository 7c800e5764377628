"""Secrets reach the cluster with no copy of their values in an annotation.

roles/platform/tasks/apply.yml applies Secrets server-side (client-side apply stores the whole
object, values included, in kubectl.kubernetes.io/last-applied-configuration) and strips that
annotation from Secrets an earlier version applied client-side. There is no cluster here:
the tests check the task arguments and evaluate the clean-up task's loop with Ansible.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"


def _apply_tasks() -> dict[str, dict]:
    tasks = yaml.safe_load((ROOT / "roles/platform/tasks/apply.yml").read_text())
    block = next(t for t in tasks if "block" in t)["block"]
    return {t["name"].split(" for ")[0].split(" of {{")[0]: t for t in block}


def test_secrets_are_applied_server_side_and_hidden():
    tasks = _apply_tasks()
    secret_apply = tasks["Ensure the Secrets are applied server-side"]
    args = secret_apply["kubernetes.core.k8s"]
    assert args["definition"] == "{{ platform_apply_secrets }}"
    assert args["apply"] is True
    assert args["server_side_apply"]["field_manager"]
    assert secret_apply["no_log"] is True
    # Nothing else applies the Secrets, and the other manifests never include them.
    others = [
        t for name, t in tasks.items() if name != "Ensure the Secrets are applied server-side"
    ]
    assert not any(
        "platform_apply_secrets" in str(t.get("kubernetes.core.k8s", "")) for t in others
    )


def _cleanup_loop(results) -> list[str]:
    task = _apply_tasks()["Remove the last-applied copy from the Secrets"]
    assert task["no_log"] is True
    patch = task["kubernetes.core.k8s_json_patch"]["patch"]
    assert patch == [
        {"op": "remove", "path": "/metadata/annotations/" + ANNOTATION.replace("/", "~1")}
    ]
    templar = Templar(
        loader=DataLoader(), variables={"_platform_apply_secret_state": {"results": results}}
    )
    return templar.template(trust_as_template(task["loop"]))


def _found(name, annotations=None):
    metadata = {"name": name}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"resources": [{"metadata": metadata}]}


def test_only_secrets_with_the_annotation_are_patched():
    results = [
        _found("old", {ANNOTATION: '{"stringData": {"x": "value"}}', "other": "1"}),
        _found("no-annotations"),
        _found("other-annotations", {"checksum": "abc"}),
    ]
    assert _cleanup_loop(results) == ["old"]
    assert _cleanup_loop([]) == []
