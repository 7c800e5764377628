"""K3s version and token helpers for the k3s roles, on the standard library only."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)\+k3s(\d+)$")


def k3s_version_tuple(version):
    """(major, minor, patch, k3s revision) of 'v1.33.5+k3s1'."""
    match = _VERSION.match(str(version).strip())
    if not match:
        raise AnsibleFilterError(f"'{version}' is not a K3s version like v1.33.5+k3s1")
    return tuple(int(part) for part in match.groups())


def k3s_upgrade_problem(current, wanted):
    """Why going from current to wanted is refused, or '' when it is a supported step.

    Kubernetes supports upgrades of one minor version at a time and no downgrades.
    """
    now, new = k3s_version_tuple(current), k3s_version_tuple(wanted)
    if new < now:
        return f"{wanted} is older than the installed {current}: K3s cannot be downgraded"
    if new[0] != now[0] or new[1] - now[1] > 1:
        return (
            f"{current} -> {wanted} skips a minor version: upgrade one minor version at a time "
            f"(first to the newest v{now[0]}.{now[1] + 1}.x+k3sN)"
        )
    return ""


def k3s_token_password(token):
    """The password part of a K3s token: the whole plain token, or what follows '::server:'
    (or '::node:') in the K10<ca-hash>::server:<password> form K3s stores."""
    text = str(token).strip()
    for marker in ("::server:", "::node:"):
        if text.startswith("K10") and marker in text:
            return text.split(marker, 1)[1]
    return text


def k3s_node_problems(node_list, expected, version):
    """Compare `kubectl get nodes -o json` with the expected node names.

    Returns one line per node that is missing, not Ready, or not at the expected version.
    """
    found = {}
    for item in (node_list or {}).get("items", []):
        conditions = item.get("status", {}).get("conditions", [])
        ready = next((c.get("status") for c in conditions if c.get("type") == "Ready"), "Unknown")
        found[item.get("metadata", {}).get("name")] = {
            "ready": ready,
            "version": item.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", ""),
        }
    problems = []
    for name in expected:
        node = found.get(name)
        if node is None:
            problems.append(f"{name}: has not joined the cluster")
        elif node["ready"] != "True":
            problems.append(f"{name}: Ready is {node['ready']}")
        elif node["version"] != version:
            problems.append(f"{name}: runs {node['version']}, expected {version}")
    return problems


class FilterModule:
    """Filters of the k3s roles."""

    def filters(self):
        return {
            "k3s_version_tuple": k3s_version_tuple,
            "k3s_upgrade_problem": k3s_upgrade_problem,
            "k3s_token_password": k3s_token_password,
            "k3s_node_problems": k3s_node_problems,
        }
