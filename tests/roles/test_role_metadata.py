"""Role metadata: one set of galaxy facts for every role, argument specs that explain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROLES = sorted((Path(__file__).resolve().parents[2] / "roles").glob("*/meta/main.yml"))
SPECS = sorted((Path(__file__).resolve().parents[2] / "roles").glob("*/meta/argument_specs.yml"))
SHARED = ("namespace", "author", "license", "min_ansible_version", "platforms")
FILLER = {"a", "an", "and", "by", "for", "in", "is", "of", "on", "or", "the", "to"}


def galaxy(path: Path) -> dict:
    return yaml.safe_load(path.read_text())["galaxy_info"]


def test_every_role_shares_the_same_galaxy_facts():
    assert len(ROLES) >= 20
    facts = {path.parts[-3]: {key: galaxy(path).get(key) for key in SHARED} for path in ROLES}
    first = next(iter(facts.values()))
    differing = {role: values for role, values in facts.items() if values != first}
    assert not differing, f"as {next(iter(facts))}: {first}; differ: {differing}"
    for path in ROLES:
        info = galaxy(path)
        assert info["role_name"] == path.parts[-3]
        assert info["description"].endswith("."), path


def says_more_than_the_name(name: str, description: str) -> bool:
    """At least one word that is neither one of the variable's own words nor filler."""
    words = set(re.findall(r"[a-z0-9]+", description.lower()))
    return len(words - set(name.lower().split("_")) - FILLER) >= 1


def options(spec: dict, prefix: str = ""):
    for name, option in (spec.get("options") or {}).items():
        yield prefix + name, name, option
        yield from options(option, f"{prefix}{name}.")


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.parts[-3])
def test_every_argument_description_says_more_than_the_name(path):
    vague = []
    for entry, spec in yaml.safe_load(path.read_text())["argument_specs"].items():
        for where, name, option in options(spec):
            description = option.get("description", "")
            if isinstance(description, list):
                description = " ".join(description)
            if not says_more_than_the_name(name, description):
                vague.append(f"{entry}: {where}: {description!r}")
    assert not vague, "\n".join(vague)


def test_the_rule_refuses_a_repeated_name():
    assert not says_more_than_the_name("platform_s3_port", "platform s3 port")
    assert not says_more_than_the_name("web_ui_image", "The web UI image.")
    assert says_more_than_the_name("platform_s3_port", "Port of the in-cluster S3 Service.")
