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
