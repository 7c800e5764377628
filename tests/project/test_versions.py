"""versions.yml is the one place for pins: the lock must agree with it."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def locked(package: str) -> str:
    match = re.search(
        rf"^{re.escape(package)}==(\S+)$", (ROOT / "requirements.lock").read_text(), re.MULTILINE
    )
    assert match, f"{package} is not in requirements.lock"
    return match.group(1)


def test_lock_matches_versions_yml():
    versions = yaml.safe_load((ROOT / "versions.yml").read_text())
    assert locked("mlflow") == versions["mlflow"]
    assert locked("apache-airflow") == versions["airflow"]


def test_installed_mlflow_is_the_pinned_one():
    import mlflow

    versions = yaml.safe_load((ROOT / "versions.yml").read_text())
    assert mlflow.__version__ == versions["mlflow"]


def _pins(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith("#"))


def test_runtime_lock_is_the_dev_lock_without_dev_tools():
    """The image (runtime lock) and the venv (dev lock) run the very same versions."""
    runtime, dev = _pins("requirements-runtime.lock"), _pins("requirements.lock")
    assert {name: version for name, version in runtime.items() if dev.get(name) != version} == {}
    assert "pytest" not in runtime and "mlflow" in runtime
