"""Filters the platform roles use to turn rendered templates into applied or written manifests."""

from __future__ import annotations

import copy
import hashlib
import json
import re

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


# A Job's pod template is immutable: the name carries a hash of everything the Job runs (its
# spec, image included), so a changed image or spec makes a new Job instead of a failed apply.
JOB_HASH_LENGTH = 10
JOB_NAME_MAX = 63


def platform_hashed_job_names(docs):
    """Append ``-<hash of the Job spec>`` to the name of every Job in ``docs``.

    The name the template gives is the stem. The same spec gives the same name on every run
    (so a re-run applies nothing new); any change of image, command, env or resources gives a
    new name.
    """
    out = []
    for doc in _plain(list(docs)):
        if doc.get("kind") == "Job":
            stem = doc["metadata"]["name"]
            digest = platform_checksum(doc.get("spec", {}))[:JOB_HASH_LENGTH]
            if len(stem) + 1 + JOB_HASH_LENGTH > JOB_NAME_MAX:
                raise ValueError(
                    f"Job name stem {stem!r} is too long: at most "
                    f"{JOB_NAME_MAX - 1 - JOB_HASH_LENGTH} characters leave room for the spec hash"
                )
            doc = copy.deepcopy(doc)
            doc["metadata"]["name"] = f"{stem}-{digest}"
            doc["metadata"].setdefault("labels", {})["house-prices/job"] = stem
        out.append(doc)
    return out


def platform_job_names(docs):
    """Names of the Jobs in ``docs`` (what the apply step waits for)."""
    return [doc["metadata"]["name"] for doc in _plain(list(docs)) if doc.get("kind") == "Job"]


def platform_unready_pods(pods):
    """Pods that neither succeeded nor are Ready (Pending, crashing, failed Job pods)."""
    unready = []
    for pod in _plain(list(pods)):
        status = pod.get("status") or {}
        if status.get("phase") == "Succeeded":
            continue
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if not ready:
            unready.append(pod)
    return unready


def _registry_host(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def platform_image_is_qualified(image: str) -> bool:
    """True when the reference starts with a registry host (has '.', ':' or is 'localhost')."""
    first, sep, _rest = str(image).partition("/")
    return bool(sep) and _registry_host(first)


def platform_image_ref(spec, mirror=""):
    """``<registry>/<repository>:<tag>`` from a versions.yml images entry.

    ``mirror`` (platform_registry_mirror), when set, replaces the registry host: one mirror
    serves every repository under the same path.
    """
    spec = _plain(spec)
    missing = [key for key in ("registry", "repository", "tag") if not spec.get(key)]
    if missing:
        raise ValueError(f"image entry {spec} lacks {', '.join(missing)} (see versions.yml)")
    host = str(mirror or spec["registry"]).strip().rstrip("/")
    if not _registry_host(host.split("/", 1)[0]):
        raise ValueError(
            f"{host!r} is not a registry host: it must contain a '.' or ':' or be 'localhost'"
            " (e.g. registry.example.lan or registry.example.lan:5000)"
        )
    return f"{host}/{spec['repository']}:{spec['tag']}"


_MEMORY_UNITS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}
_QUANTITY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")


def platform_bytes(quantity) -> int:
    """Bytes of a Kubernetes memory/storage quantity (``512Mi``, ``1Gi``, ``2G``, ``1024``)."""
    match = _QUANTITY.match(str(quantity))
    if not match or match.group(2) not in _MEMORY_UNITS:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity such as 512Mi or 10Gi")
    return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2)])


def platform_millicpu(quantity) -> int:
    """Millicores of a CPU quantity (``100m``, ``1``, ``0.5``)."""
    text = str(quantity).strip()
    if text.endswith("m"):
        return int(text[:-1])
    return int(float(text) * 1000)


def _pod_request(resources: dict, pod: dict) -> tuple[int, int]:
    """Effective request of one pod: max(largest init container, sum of containers)."""

    def requests(keys):
        memory = [platform_bytes(resources[k]["requests"]["memory"]) for k in keys]
        cpu = [platform_millicpu(resources[k]["requests"]["cpu"]) for k in keys]
        return memory, cpu

    missing = [k for k in [*pod["containers"], *pod.get("init", [])] if k not in resources]
    if missing:
        raise ValueError(f"platform_resources has no entry for {', '.join(missing)}")
    memory, cpu = requests(pod["containers"])
    init_memory, init_cpu = requests(pod.get("init", []))
    return max([sum(memory), *init_memory]), max([sum(cpu), *init_cpu])


def platform_sizing(resources, pods, task_pods=0, task_key="airflow_task"):
    """Requests of what will run: the always-on pods plus ``task_pods`` task pods.

    ``pods`` lists ``{name, replicas, containers: [resource keys], init: [resource keys]}``.
    Returns totals (bytes, millicores) and the largest single pod, which must fit on one node.
    """
    resources = _plain(resources)
    lines = []
    for pod in _plain(list(pods)):
        memory, cpu = _pod_request(resources, pod)
        lines.append(
            {
                "name": pod["name"],
                "replicas": int(pod.get("replicas", 1)),
                "memory": memory,
                "cpu": cpu,
            }
        )
    if int(task_pods) > 0:
        memory, cpu = _pod_request(resources, {"containers": [task_key]})
        lines.append(
            {"name": "airflow task pod", "replicas": int(task_pods), "memory": memory, "cpu": cpu}
        )
    counted = [line for line in lines if line["replicas"] > 0]
    largest = max(counted, key=lambda line: line["memory"]) if counted else None
    return {
        "pods": lines,
        "memory": sum(line["memory"] * line["replicas"] for line in lines),
        "cpu": sum(line["cpu"] * line["replicas"] for line in lines),
        "largest": largest,
    }


def _gib(value: int) -> str:
    return f"{value / 2**30:.1f} GiB"


def platform_sizing_problems(sizing, nodes, claims, image_disk_bytes):
    """What keeps the nodes from running ``sizing`` (the platform_sizing result); [] when it fits.

    ``nodes``: ``[{name, memory_bytes, reserved_bytes, free_disk_bytes}]``; ``claims``: the
    PersistentVolumeClaim sizes by component. Every message carries the numbers and the
    variables to change.
    """
    sizing = _plain(sizing)
    nodes = _plain(list(nodes))
    claims = _plain(claims)
    problems = []
    allocatable = {
        n["name"]: max(int(n["memory_bytes"]) - int(n["reserved_bytes"]), 0) for n in nodes
    }
    offered = sum(allocatable.values())
    always_on = sum(
        line["memory"] * line["replicas"]
        for line in sizing["pods"]
        if line["name"] != "airflow task pod"
    )
    tasks = [line for line in sizing["pods"] if line["name"] == "airflow task pod"]
    task_text = (
        f" plus {tasks[0]['replicas']} task pod(s) of {_gib(tasks[0]['memory'])}" if tasks else ""
    )
    per_node = ", ".join(
        f"{n['name']}: {_gib(int(n['memory_bytes']))} less {_gib(int(n['reserved_bytes']))} "
        "reserved for K3s and the OS"
        for n in nodes
    )
    if sizing["memory"] > offered:
        problems.append(
            f"The platform's pods request {_gib(sizing['memory'])} of memory (always-on pods "
            f"{_gib(always_on)}{task_text}), but the nodes offer {_gib(offered)} ({per_node}). "
            "Add memory or nodes, or lower platform_resources requests, platform_replicas or "
            "platform_sizing_task_pods."
        )
    largest = sizing.get("largest")
    if largest and allocatable and largest["memory"] > max(allocatable.values()):
        problems.append(
            f"The largest pod ({largest['name']}) requests {_gib(largest['memory'])}, more than "
            f"any one node offers ({_gib(max(allocatable.values()))}). Lower "
            "platform_resources for it or add memory to a node."
        )
    claim_bytes = {name: platform_bytes(size) for name, size in claims.items()}
    needed_disk = sum(claim_bytes.values()) + int(image_disk_bytes)
    best = max(nodes, key=lambda n: int(n["free_disk_bytes"]), default=None)
    if best is not None and needed_disk > int(best["free_disk_bytes"]):
        listed = ", ".join(f"{name} {size}" for name, size in claims.items())
        problems.append(
            f"The volumes ({listed}) and the images ({_gib(int(image_disk_bytes))}) need "
            f"{_gib(needed_disk)} on one node, but the most free disk is "
            f"{_gib(int(best['free_disk_bytes']))} on {best['name']}. Grow the disk, or lower "
            "platform_storage (before the first install only) or platform_sizing_image_disk."
        )
    return problems


class FilterModule:
    """Manifest filters of the platform role."""

    def filters(self):
        return {
            "platform_manifest_list": platform_manifest_list,
            "platform_redact_secrets": platform_redact_secrets,
            "platform_yaml_stream": platform_yaml_stream,
            "platform_checksum": platform_checksum,
            "platform_hashed_job_names": platform_hashed_job_names,
            "platform_job_names": platform_job_names,
            "platform_unready_pods": platform_unready_pods,
            "platform_image_ref": platform_image_ref,
            "platform_image_is_qualified": platform_image_is_qualified,
            "platform_bytes": platform_bytes,
            "platform_millicpu": platform_millicpu,
            "platform_sizing": platform_sizing,
            "platform_sizing_problems": platform_sizing_problems,
        }
