"""render.yml runs: the real playbook writes an inventory's manifests into a directory (no
cluster). A render takes about a minute and a half, so the test run shares a few of them
(tests/conftest.py) instead of rendering per module."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from testsupport.ansible import REPO, run_playbook

FIXTURE_INVENTORY = REPO / "tests" / "manifests" / "fixtures" / "inventory"
EXAMPLE_INVENTORY = REPO / "inventory" / "example"

#: Settings changed from their defaults in one shared render (tests/conftest.py,
#: ``rendered_variant``): the client settings, TLS off, a registry mirror, a revoked API key.
CLIENT_SETTINGS_CHANGED = {
    "platform_model_name": "renamed-model",
    "platform_model_server_port": 8123,
    "platform_mlflow_port": 5123,
    "platform_airflow_api_port": 8124,
    "platform_data_api_url": "http://data.example.test:9000",
    "platform_tls_enabled": False,
}
#: The shared TLS-off render: the image tests' stand-ins for PostgreSQL and S3 speak plain
#: TCP/HTTP, and their data API is the emulator under the name data-api.
TLS_OFF_SETTINGS = {
    "platform_tls_enabled": False,
    "render_secrets": True,
    "platform_data_api_url": "http://data-api:8900",
}
REGISTRY_MIRROR = "registry.example.lan:5000"
VARIANT_SETTINGS = CLIENT_SETTINGS_CHANGED | {
    "platform_registry_mirror": REGISTRY_MIRROR,
    "platform_secrets_api_keys_revoked": ["web_ui"],
    "model_server_auth": False,
}


def copy_inventory(dest: Path, source: Path = FIXTURE_INVENTORY) -> Path:
    """A private copy of an inventory without its secrets (the secrets role writes them)."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("secrets"))
    return dest


def load_rendered(render_dir: Path) -> dict[str, list[dict]]:
    """Every rendered document, by file name (secrets/ subdirectory excluded)."""
    return {
        path.name: [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        for path in sorted(render_dir.glob("*.yaml"))
    }


class Rendered:
    """One render.yml run: the output directory, its documents and the generated secrets."""

    def __init__(self, inventory: Path, render_dir: Path):
        self.inventory = inventory
        self.dir = render_dir
        self.files = load_rendered(render_dir)
        self.docs = [doc for docs in self.files.values() for doc in docs]
        self.secrets = yaml.safe_load((inventory / "secrets" / "platform.yml").read_text())


def render(tmp: Path, *extra: str, source: Path = FIXTURE_INVENTORY) -> Rendered:
    """Render a fresh copy of ``source`` into ``tmp``/out; ``extra`` goes to ansible-playbook."""
    inventory = copy_inventory(tmp / "inventory", source)
    out = tmp / "out"
    run_playbook("render.yml", inventory, "-e", f"render_dir={out}", *extra)
    return Rendered(inventory, out)
