"""Filters the platform roles use to turn rendered templates into applied or written manifests."""

from __future__ import annotations

import hashlib
import json

import yaml

REDACTED = "<redacted>"


class _BlockDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings (scripts, config files) as literal blocks."""


def _str_representer(dumper, data):
    if "\n" in data and all(line == line.rstrip() for line in data.splitlines()):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_BlockDumper.add_representer(str, _str_representer)


def _plain(value):
    """Return ``value`` as plain JSON types (Ansible hands filters tagged str/dict subclasses)."""
    return json.loads(json.dumps(value))


def platform_manifest_list(value):
    """Drop empty documents from a ``from_yaml_all`` result and check every one is a manifest."""
    docs = [doc for doc in _plain(list(value)) if doc]
    for doc in docs:
        if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
            raise ValueError(f"rendered document is not a Kubernetes manifest: {str(doc)[:200]}")
    return docs


def platform_redact_secrets(docs):
    """Return ``docs`` with the value of every Secret key replaced by ``<redacted>``."""
    out = []
    for doc in _plain(list(docs)):
        if doc.get("kind") == "Secret":
            for field in ("data", "stringData"):
                if field in doc:
                    doc[field] = dict.fromkeys(doc[field], REDACTED)
        out.append(doc)
    return out


def platform_yaml_stream(docs):
    """Dump manifests as one multi-document YAML stream, keys in template order."""
    return yaml.dump_all(
        _plain(list(docs)), Dumper=_BlockDumper, sort_keys=False, default_flow_style=False
    )


def platform_checksum(value):
    """Stable sha256 of any JSON-able value (pod-template annotations roll pods on change)."""
    blob = json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class FilterModule:
    """Manifest filters of the platform role."""

    def filters(self):
        return {
            "platform_manifest_list": platform_manifest_list,
            "platform_redact_secrets": platform_redact_secrets,
            "platform_yaml_stream": platform_yaml_stream,
            "platform_checksum": platform_checksum,
        }
