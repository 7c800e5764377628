"""Every Ansible task that handles a secret value hides it from the output (no_log).

The scan reads every task of roles/*/tasks, roles/*/handlers and playbooks/ (blocks included,
no_log inherited from the enclosing block or play) and looks for secret variables in the
parts Ansible prints: module arguments, loop items and task vars. include_*/import_* tasks
only hand values on (the included tasks are scanned themselves); `when`-like conditions are
never printed.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Variables that hold a secret: the generated secrets, the Secret manifests built from them,
# and anything named like a password, token or key.
SECRET_VARIABLE = re.compile(
    r"\b(platform_secrets_values|_platform_secrets_(?:existing|generated|new|random)"
    r"|platform_apply_secrets|_\w+_secrets|\w*password\w*|\w*_token\w*|\w*secret_key\w*)\b"
)
JINJA = re.compile(r"{{.*?}}|{%.*?%}", re.S)
# Names of files and directories that hold a secret are not secrets.
LOCATION_SUFFIXES = ("_file", "_path", "_dir")
# The filter that replaces Secret values by "<redacted>" (roles/platform/filter_plugins).
REDACTED = "platform_redact_secrets"
NOT_PRINTED = {
    "name",
    "when",
    "changed_when",
    "failed_when",
    "until",
    "register",
    "tags",
    "no_log",
    "delegate_to",
    "become",
    "run_once",
    "retries",
    "delay",
    "notify",
}
PASS_THROUGH = re.compile(r"(ansible\.builtin\.)?(include|import)_(role|tasks|playbook)$")
BLOCK_KEYS = ("block", "rescue", "always")


def task_files() -> list[Path]:
    files = [*ROOT.glob("roles/*/tasks/*.yml"), *ROOT.glob("roles/*/handlers/*.yml")]
    return sorted([*files, *ROOT.glob("playbooks/*.yml")])


def _tasks(items, hidden: bool):
    """(task, no_log in effect) for every task in a list, blocks and plays unfolded."""
    for item in items or []:
        if not isinstance(item, dict):
            continue
        here = bool(item.get("no_log", hidden))
        if "hosts" in item:  # a play
            for key in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                yield from _tasks(item.get(key), here)
        elif any(key in item for key in BLOCK_KEYS):
            for key in BLOCK_KEYS:
                yield from _tasks(item.get(key), here)
        else:
            yield item, here


def secret_references(task: dict) -> set[str]:
    if any(PASS_THROUGH.match(key) for key in task):
        return set()
    found = set()
    for key, value in task.items():
        if key in NOT_PRINTED:
            continue
        for expression in JINJA.findall(yaml.safe_dump(value, width=10_000)):
            if REDACTED in expression:
                continue
            found |= {m.group(0) for m in SECRET_VARIABLE.finditer(expression)}
    return {name for name in found if not name.endswith(LOCATION_SUFFIXES)}


def unhidden_secret_tasks(path: Path) -> list[str]:
    problems = []
    for task, hidden in _tasks(yaml.safe_load(path.read_text()), False):
        if hidden or task.get("no_log") is True:
            continue
        refs = secret_references(task)
        if refs:
            where = f"{path.relative_to(ROOT)}: {task.get('name', '<unnamed>')}"
            problems.append(f"{where} uses {sorted(refs)} without no_log: true")
    return problems


def test_every_task_carrying_a_secret_has_no_log():
    files = task_files()
    assert len(files) > 50
    problems = [p for path in files for p in unhidden_secret_tasks(path)]
    assert problems == []


def test_the_scan_finds_a_secret_in_arguments_loops_and_blocks(tmp_path):
    path = ROOT / "roles" / "_scan_probe.yml"
    tasks = [
        {
            "name": "shown",
            "ansible.builtin.uri": {"url_password": "{{ platform_secrets_values.x }}"},
        },
        {"name": "looped", "ansible.builtin.debug": {"msg": "x"}, "loop": "{{ _mlflow_secrets }}"},
        {"name": "hidden", "no_log": True, "ansible.builtin.debug": {"msg": "{{ web_token }}"}},
        {
            "no_log": True,
            "block": [{"name": "inherited", "ansible.builtin.debug": {"var": "x_password"}}],
        },
        {
            "name": "condition only",
            "when": "platform_apply_secrets | length > 0",
            "ansible.builtin.debug": {},
        },
        {"name": "passes on", "ansible.builtin.include_role": {"name": "x"}},
        {"name": "a path", "ansible.builtin.stat": {"path": "{{ k3s_token_file }}"}},
        {
            "name": "redacted",
            "ansible.builtin.copy": {
                "content": "{{ platform_apply_secrets | platform_redact_secrets }}"
            },
        },
        {
            "name": "a header",
            "ansible.builtin.uri": {
                "headers": {"Authorization": "Bearer {{ model_server_reload_token }}"}
            },
        },
    ]
    path.write_text(yaml.safe_dump(tasks))
    try:
        problems = unhidden_secret_tasks(path)
    finally:
        path.unlink()
    assert [p.split(": ", 1)[1].split(" uses")[0] for p in problems] == [
        "shown",
        "looped",
        "a header",
    ]
