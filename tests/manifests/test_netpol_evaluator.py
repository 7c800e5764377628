"""The NetworkPolicy evaluator itself, on hand-written policies with known answers."""

from __future__ import annotations

from .netpol import Cluster, Endpoint

WEB = Endpoint("web", "app", {"role": "web"}, {"http": (8080, "TCP")})
DB = Endpoint("db", "app", {"role": "db"}, {"pg": (5432, "TCP")})
MON = Endpoint("mon", "monitoring", {"role": "prom"})
LAN = Endpoint("lan", ip="10.1.2.3")
NAMESPACES = {"app": {"team": "a"}, "monitoring": {"team": "ops"}}


def policy(name, namespace, selector, **spec):
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"podSelector": selector, **spec},
    }


def test_no_policy_allows_everything_and_default_deny_denies():
    assert Cluster([], NAMESPACES).allows(WEB, DB, "pg")
    deny = policy("deny", "app", {}, policyTypes=["Ingress", "Egress"])
    assert not Cluster([deny], NAMESPACES).allows(WEB, DB, "pg")
    # A policy of another namespace does not isolate these pods.
    other = policy("deny", "monitoring", {}, policyTypes=["Ingress", "Egress"])
    assert Cluster([other], NAMESPACES).allows(WEB, DB, "pg")


def test_namespace_and_pod_selector_in_one_peer_means_both():
    both = policy(
        "db",
        "app",
        {"matchLabels": {"role": "db"}},
        ingress=[
            {
                "from": [
                    {
                        "namespaceSelector": {"matchLabels": {"team": "ops"}},
                        "podSelector": {"matchLabels": {"role": "prom"}},
                    }
                ]
            }
        ],
    )
    cluster = Cluster([both], NAMESPACES)
    assert cluster.allows(MON, DB, 5432)
    assert not cluster.allows(WEB, DB, 5432)
    # podSelector alone: only the policy's own namespace.
    alone = policy(
        "db",
        "app",
        {"matchLabels": {"role": "db"}},
        ingress=[{"from": [{"podSelector": {}}]}],
    )
    assert Cluster([alone], NAMESPACES).allows(WEB, DB, 5432)
    assert not Cluster([alone], NAMESPACES).allows(MON, DB, 5432)


def test_ports_by_name_number_range_and_protocol():
    def only(ports):
        pol = policy("db", "app", {}, ingress=[{"ports": ports}])
        return Cluster([pol], NAMESPACES)

    assert only([{"port": "pg"}]).allows(WEB, DB, "pg")
    assert not only([{"port": "pg", "protocol": "UDP"}]).allows(WEB, DB, "pg")
    assert not only([{"port": 5433}]).allows(WEB, DB, "pg")
    assert only([{"port": 5000, "endPort": 6000}]).allows(WEB, DB, "pg")
    assert not only([{"port": "http"}]).allows(WEB, DB, "pg")


def test_ip_block_with_except_and_match_expressions():
    egress = policy(
        "web",
        "app",
        {"matchExpressions": [{"key": "role", "operator": "In", "values": ["web"]}]},
        policyTypes=["Egress"],
        egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}],
    )
    cluster = Cluster([egress], NAMESPACES)
    outside = Endpoint("ok", ip="10.2.0.1", ports={"https": (443, "TCP")})
    excluded = Endpoint("no", ip="10.1.9.9", ports={"https": (443, "TCP")})
    assert cluster.allows(WEB, outside, "https")
    assert not cluster.allows(WEB, excluded, "https")
    # An ipBlock never matches a pod here; DB is not selected, so it is not isolated.
    assert not cluster.allows(WEB, DB, "pg")
    assert cluster.allows(DB, WEB, "http")
    assert cluster.allows(LAN, WEB, "http")
