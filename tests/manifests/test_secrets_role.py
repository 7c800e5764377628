"""The platform_secrets role, run for real on this machine (it only touches the control node)."""

from __future__ import annotations

import base64
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

from testsupport.ansible import ansible_env, recap, run_playbook
from testsupport.render import copy_inventory

from .conftest import REPO, VENV_BIN

SPEC = yaml.safe_load((REPO / "roles/platform_secrets/vars/main.yml").read_text())[
    "platform_secrets_spec"
]
API_KEY_NAMES = yaml.safe_load((REPO / "roles/platform_secrets/defaults/main.yml").read_text())[
    "platform_secrets_api_keys"
]
SPEC = {
    **SPEC,
    **{
        f"model_server_api_key_{name}": {"kind": "password", "length": 40} for name in API_KEY_NAMES
    },
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def inventory(tmp_path) -> Path:
    return copy_inventory(tmp_path / "inventory")


def test_generates_once_and_reuses(inventory):
    first = run_playbook("secrets.yml", inventory)
    secrets_file = inventory / "secrets" / "platform.yml"
    assert recap(first.stdout)["changed"] >= 1
    assert _mode(secrets_file) == 0o600
    assert _mode(secrets_file.parent) == 0o700
    values = yaml.safe_load(secrets_file.read_text())
    assert set(values) == set(SPEC)
    for name, spec in SPEC.items():
        assert isinstance(values[name], str) and len(values[name]) == spec["length"], name
    assert len(set(values.values())) == len(values), "two secrets share a value"
    # Airflow's Fernet key must be a usable key (urlsafe base64 of 32 bytes).
    Fernet(values["airflow_fernet_key"].encode())
    assert len(base64.urlsafe_b64decode(values["airflow_fernet_key"])) == 32
    assert values["s3_access_key"].isupper() or values["s3_access_key"].isdigit()

    second = run_playbook("secrets.yml", inventory)
    counts = recap(second.stdout)
    assert counts["changed"] == 0, second.stdout[-3000:]
    assert counts["failed"] == 0
    assert yaml.safe_load(secrets_file.read_text()) == values
    assert _mode(secrets_file) == 0o600


def test_only_missing_secrets_are_added(inventory):
    run_playbook("secrets.yml", inventory)
    secrets_file = inventory / "secrets" / "platform.yml"
    values = yaml.safe_load(secrets_file.read_text())
    # An upgrade that introduces a secret: the file lacks it (and one is empty).
    trimmed = dict(values)
    del trimmed["web_operator_token"]
    trimmed["web_secret_key"] = ""
    secrets_file.write_text(yaml.safe_dump(trimmed))
    secrets_file.chmod(0o644)

    run_playbook("secrets.yml", inventory)
    after = yaml.safe_load(secrets_file.read_text())
    assert _mode(secrets_file) == 0o600
    assert after["web_operator_token"] and after["web_secret_key"]
    assert after["web_operator_token"] != values["web_operator_token"]
    unchanged = {
        k: v for k, v in values.items() if k not in {"web_operator_token", "web_secret_key"}
    }
    assert {k: after[k] for k in unchanged} == unchanged


def _vault(inventory: Path, *args: str) -> None:
    subprocess.run(
        [str(VENV_BIN / "ansible-vault"), *args],
        env=ansible_env(),
        check=True,
        capture_output=True,
        cwd=REPO,
    )


def test_vault_encrypted_file_is_read_and_left_encrypted(inventory, tmp_path):
    run_playbook("secrets.yml", inventory)
    secrets_file = inventory / "secrets" / "platform.yml"
    values = yaml.safe_load(secrets_file.read_text())
    password = tmp_path / "vault-pass"
    password.write_text("correct horse battery staple\n")
    _vault(inventory, "encrypt", "--vault-password-file", str(password), str(secrets_file))
    encrypted = secrets_file.read_text()
    assert encrypted.startswith("$ANSIBLE_VAULT")

    again = run_playbook("secrets.yml", inventory, "--vault-password-file", str(password))
    assert recap(again.stdout)["changed"] == 0
    assert secrets_file.read_text() == encrypted

    # Rendering with the vaulted file uses the same values (TLS off: the certificates are not
    # what this test is about, and making them takes a third of a render).
    out = tmp_path / "out"
    run_playbook(
        "render.yml",
        inventory,
        "--vault-password-file",
        str(password),
        "-e",
        f"render_dir={out}",
        "-e",
        '{"render_secrets": true, "platform_tls_enabled": false}',
    )
    rendered = (out / "secrets" / "40-airflow.yaml").read_text()
    assert values["airflow_fernet_key"] in rendered

    # Without the vault password the run fails instead of generating new secrets.
    failed = run_playbook("secrets.yml", inventory, check=False)
    assert failed.returncode != 0
    assert secrets_file.read_text() == encrypted


def test_vault_encrypted_file_missing_a_secret_fails_with_instructions(inventory, tmp_path):
    run_playbook("secrets.yml", inventory)
    secrets_file = inventory / "secrets" / "platform.yml"
    values = yaml.safe_load(secrets_file.read_text())
    del values["model_server_reload_token"]
    secrets_file.write_text(yaml.safe_dump(values))
    password = tmp_path / "vault-pass"
    password.write_text("pw\n")
    _vault(inventory, "encrypt", "--vault-password-file", str(password), str(secrets_file))
    encrypted = secrets_file.read_text()

    proc = run_playbook(
        "secrets.yml", inventory, "--vault-password-file", str(password), check=False
    )
    assert proc.returncode != 0
    assert "model_server_reload_token" in proc.stdout
    assert "ansible-vault decrypt" in proc.stdout
    assert secrets_file.read_text() == encrypted
