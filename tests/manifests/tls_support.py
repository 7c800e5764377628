"""Run a rendered pod's TLS settings on this machine (no cluster, no kubelet).

The kubelet would mount the platform_tls role's Secrets and the platform-ca ConfigMap; here the
rendered objects' files are written into a directory per volume and every path under a mount
in the rendered arguments or environment is swapped for that directory.
"""

from __future__ import annotations

from pathlib import Path

import yaml

TLS_FILE = "01-tls.yaml"


def _tls_objects(render) -> dict[tuple[str, str], dict[str, str]]:
    """The rendered CA ConfigMap and server certificate Secrets, by (kind, name)."""
    objects = {
        ("ConfigMap", d["metadata"]["name"]): d["data"]
        for d in render.files[TLS_FILE]
        if d["kind"] == "ConfigMap"
    }
    secrets = render.dir / "secrets" / TLS_FILE
    for doc in yaml.safe_load_all(secrets.read_text()):
        if doc:
            objects[("Secret", doc["metadata"]["name"])] = doc["stringData"]
    return objects


def mount_tls(render, pod_spec: dict, container: dict, dest: Path) -> dict[str, str]:
    """Write the container's mounted TLS Secret and CA ConfigMap files under ``dest``.

    Returns {mount path: local directory} for each one mounted (an empty dict without TLS).
    """
    objects = _tls_objects(render)
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    mounts = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "secret" in volume:
            key = ("Secret", volume["secret"]["secretName"])
        elif "configMap" in volume:
            key = ("ConfigMap", volume["configMap"]["name"])
        else:
            continue
        if key not in objects:
            continue
        local = dest / mount["name"]
        local.mkdir(parents=True, exist_ok=True)
        for name, content in objects[key].items():
            (local / name).write_text(content)
            (local / name).chmod(0o600)
        mounts[mount["mountPath"]] = str(local)
    return mounts


def swap(value: str, mounts: dict[str, str]) -> str:
    """``value`` with every mounted directory replaced by its local copy."""
    for mount_path, local in mounts.items():
        value = value.replace(mount_path + "/", local + "/")
    return value
