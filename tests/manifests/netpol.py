"""A small evaluator of Kubernetes NetworkPolicy semantics, for offline policy tests.

What it models (networking.k8s.io/v1 as documented): a pod is isolated for a direction when a
policy of its namespace selects it and lists that direction in policyTypes (default: Ingress,
plus Egress when the policy has egress rules); an isolated pod accepts only what some rule
allows; a connection needs the source's egress AND the destination's ingress. Peers:
podSelector (in the policy's namespace), namespaceSelector, both in one peer (AND), ipBlock
with except; matchLabels and matchExpressions; an empty or missing `from`/`to`/`ports` allows
all. Ports: numbers, named container ports of the destination, protocol (default TCP), endPort.

What it does not model: pod IP addresses (an ipBlock never matches a pod here; real plugins
may match pod IPs), Service address translation (rules are evaluated on the destination pod's
port, as plugins do after DNAT), traffic from a node to its own pods (kubelet probes: always
allowed by Kubernetes), hostNetwork pods, SCTP, and the network plugin's own gaps.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from . import policy

_JOB_HASH = re.compile(r"-[0-9a-f]{10}$")


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace set) or an address outside the cluster (namespace None, ip set)."""

    name: str
    namespace: str | None = None
    labels: dict = field(default_factory=dict, hash=False, compare=False)
    # named port -> (number, protocol)
    ports: dict = field(default_factory=dict, hash=False, compare=False)
    ip: str | None = None


def pods(docs: Iterable[dict], default_namespace: str) -> dict[str, Endpoint]:
    """Every workload's pod (embedded task pod template included), by owner name (Jobs
    without the spec hash apply.yml appends). A pod template without a namespace (the task
    pods') runs in default_namespace."""
    found = {}
    for owner, meta, spec in policy.pod_specs(docs):
        name = owner["metadata"]["name"]
        if owner["kind"] == "Job":
            name = _JOB_HASH.sub("", name)
        ports = {
            p["name"]: (int(p["containerPort"]), p.get("protocol", "TCP"))
            for c in spec.get("containers") or []
            for p in c.get("ports") or []
            if "name" in p
        }
        namespace = owner["metadata"].get("namespace") or default_namespace
        found[name] = Endpoint(name, namespace, dict(meta.get("labels") or {}), ports)
    return found


def selects(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector: an empty selector selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels[key] in values,
            "NotIn": not present or labels[key] not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[op]
        if not ok:
            return False
    return True


class Cluster:
    """The policies and namespaces a connection is judged against."""

    def __init__(self, docs: Iterable[dict], namespaces: dict[str, dict] | None = None):
        docs = list(docs)
        self.policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
        self.namespaces: dict[str, dict] = {}
        for doc in docs:
            if doc.get("kind") == "Namespace":
                self.namespaces[doc["metadata"]["name"]] = dict(doc["metadata"].get("labels") or {})
        self.namespaces.update(namespaces or {})
        for name, labels in self.namespaces.items():
            labels.setdefault("kubernetes.io/metadata.name", name)

    def _applying(self, pod: Endpoint, direction: str) -> list[dict]:
        if pod.namespace is None:
            return []
        result = []
        for pol in self.policies:
            spec = pol.get("spec") or {}
            if pol["metadata"].get("namespace") != pod.namespace:
                continue
            if not selects(spec.get("podSelector"), pod.labels):
                continue
            types = spec.get("policyTypes") or (
                ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]
            )
            if direction in types:
                result.append(pol)
        return result

    def _peer_matches(self, peer: dict, policy_namespace: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            if other.ip is None:
                return False
            address = ipaddress.ip_address(other.ip)
            block = peer["ipBlock"]
            return address in ipaddress.ip_network(block["cidr"]) and not any(
                address in ipaddress.ip_network(e) for e in block.get("except") or []
            )
        if other.namespace is None:
            return False
        if "namespaceSelector" in peer:
            ns_labels = self.namespaces.get(
                other.namespace, {"kubernetes.io/metadata.name": other.namespace}
            )
            if not selects(peer["namespaceSelector"], ns_labels):
                return False
        elif other.namespace != policy_namespace:
            return False
        return "podSelector" not in peer or selects(peer["podSelector"], other.labels)

    @staticmethod
    def _port_matches(rule_ports: list | None, dst: Endpoint, port: int, protocol: str) -> bool:
        if not rule_ports:
            return True
        for entry in rule_ports:
            if entry.get("protocol", "TCP") != protocol:
                continue
            wanted = entry.get("port")
            if wanted is None:
                return True
            if isinstance(wanted, str):
                named = dst.ports.get(wanted)
                if named and named == (port, protocol):
                    return True
                continue
            if int(wanted) <= port <= int(entry.get("endPort", wanted)):
                return True
        return False

    def _allowed(
        self,
        subject: Endpoint,
        other: Endpoint,
        dst: Endpoint,
        port: int,
        protocol: str,
        direction: str,
    ) -> bool:
        applying = self._applying(subject, direction)
        if not applying:
            return True
        rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for pol in applying:
            for rule in pol["spec"].get(rules_key) or []:
                peers = rule.get(peers_key)
                peer_ok = not peers or any(
                    self._peer_matches(p, pol["metadata"]["namespace"], other) for p in peers
                )
                if peer_ok and self._port_matches(rule.get("ports"), dst, port, protocol):
                    return True
        return False

    def allows(self, src: Endpoint, dst: Endpoint, port: int | str, protocol: str = "TCP") -> bool:
        """Whether src may open a connection to dst on a port (a number or dst's port name)."""
        if isinstance(port, str):
            port, protocol = dst.ports[port]
        return self._allowed(src, dst, dst, port, protocol, "Egress") and self._allowed(
            dst, src, dst, port, protocol, "Ingress"
        )
