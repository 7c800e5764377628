"""Fixtures: run the real playbooks against a copy of the fixture inventory (no cluster)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from testsupport.ansible import run_playbook

REPO = Path(__file__).resolve().parents[2]
FIXTURE_INVENTORY = Path(__file__).parent / "fixtures" / "inventory"
VENV_BIN = Path(sys.executable).parent


def copy_inventory(dest: Path, source: Path = FIXTURE_INVENTORY) -> Path:
    """A private copy of an inventory (the secrets role writes into it)."""
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


def _render(tmp: Path, *extra: str, source: Path = FIXTURE_INVENTORY) -> Rendered:
    inventory = copy_inventory(tmp / "inventory", source)
    out = tmp / "out"
    run_playbook("render.yml", inventory, "-e", f"render_dir={out}", *extra)
    return Rendered(inventory, out)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Rendered:
    """The fixture inventory rendered with its defaults (MetalLB pool set: LoadBalancers)."""
    return _render(tmp_path_factory.mktemp("render-default"))


@pytest.fixture(scope="session")
def rendered_example(tmp_path_factory) -> Rendered:
    """The committed example inventory (inventory/example), exactly as a user copies it."""
    example = Path(__file__).resolve().parents[2] / "inventory" / "example"
    return _render(tmp_path_factory.mktemp("render-example"), source=example)


@pytest.fixture(scope="session")
def rendered_nodeport(tmp_path_factory) -> Rendered:
    """The fixture inventory rendered with MetalLB, MLflow auth and TLS off."""
    return _render(
        tmp_path_factory.mktemp("render-nodeport"),
        "-e",
        '{"platform_metallb_enabled": false, "platform_mlflow_auth_enabled": false,'
        ' "platform_tls_enabled": false}',
    )


@pytest.fixture(scope="session")
def rendered_with_secrets(tmp_path_factory) -> Rendered:
    """A render that also writes the real Secret manifests (render_secrets=true)."""
    return _render(tmp_path_factory.mktemp("render-secrets"), "-e", "render_secrets=true")
