"""The rendered NetworkPolicies allow exactly the flows the platform needs.

The flows below are written from the components' configuration (who gets which URL or
credentials), not from the policy template: every one must be allowed, and every other
pair of endpoints and port of the model must be denied. The evaluator (netpol.py) says
which parts of NetworkPolicy semantics it models.
"""

from __future__ import annotations

import copy
import itertools

import pytest

from . import netpol

NAMESPACE = "mlops"
# Addresses of the fixture inventory (tests/manifests/fixtures/inventory).
DATA_API = netpol.Endpoint("data-api", ip="192.0.2.50", ports={"http": (8080, "TCP")})
KUBE_API = netpol.Endpoint("kube-api", ip="192.0.2.10", ports={"https": (6443, "TCP")})
LAN_CLIENT = netpol.Endpoint("lan-client", ip="198.51.100.7")
INTERNET = netpol.Endpoint("internet", ip="203.0.113.9", ports={"https": (443, "TCP")})
KUBE_DNS = netpol.Endpoint(
    "kube-dns",
    namespace="kube-system",
    labels={"k8s-app": "kube-dns"},
    ports={"dns": (53, "UDP"), "dns-tcp": (53, "TCP")},
)
OUTSIDE = [DATA_API, KUBE_API, INTERNET, KUBE_DNS]

AIRFLOW = ["airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"]

# (client, server, server's port name): every connection the platform makes.
NEEDED = {
    # Databases: MLflow (tracking + auth), Airflow (metadata, the migration Job), the model
    # server (prediction log), the bootstrap Job that creates them.
    *[(c, "postgresql", "postgresql") for c in ["mlflow", "model-server", "postgresql-bootstrap"]],
    *[(c, "postgresql", "postgresql") for c in [*AIRFLOW, "airflow-db-migrate"]],
    # S3: artifacts (MLflow), task logs (every Airflow component reads them), pipeline objects
    # (task pods, the web UI's /metrics), the bucket Job, the smoke test in the scheduler.
    *[(c, "seaweedfs", "s3") for c in ["mlflow", "airflow-task", "web-ui", "seaweedfs-buckets"]],
    *[(c, "seaweedfs", "s3") for c in AIRFLOW],
    *[("seaweedfs", "seaweedfs", p) for p in ["s3", "master", "filer"]],
    *[(c, "mlflow", "http") for c in ["web-ui", "airflow-task", "model-server", "prometheus"]],
    ("mlflow-accounts", "mlflow", "http"),
    # The retention CronJobs: `mlflow gc` (its database, artifacts deleted through the server)
    # and the prediction log's pruning.
    ("mlflow-gc", "postgresql", "postgresql"),
    ("mlflow-gc", "mlflow", "http"),
    ("prediction-log-retention", "postgresql", "postgresql"),
    ("airflow-scheduler", "mlflow", "http"),
    # The Execution API (task pods), the web UI's DAG view, the components among themselves.
    *[(c, "airflow-api-server", "http") for c in ["web-ui", "airflow-task", *AIRFLOW]],
    *[(c, "model-server", "http") for c in ["web-ui", "airflow-task"]],
    ("prometheus", "model-server", "metrics"),
    ("prometheus", "web-ui", "http"),
    ("prometheus", "statsd-exporter", "metrics"),
    *[(c, "statsd-exporter", "statsd") for c in [*AIRFLOW, "airflow-task"]],
    ("grafana", "prometheus", "http"),
    # Outside the namespace.
    ("airflow-task", "data-api", "http"),
    ("web-ui", "data-api", "http"),
    ("airflow-scheduler", "kube-api", "https"),
    ("airflow-api-server", "kube-api", "https"),
}
EXPOSED = {
    ("airflow-api-server", "http"),
    ("mlflow", "http"),
    ("model-server", "http"),
    ("web-ui", "http"),
    ("prometheus", "http"),
    ("grafana", "http"),
}


def _model(docs):
    pods = netpol.pods(docs, NAMESPACE)
    return netpol.Cluster(docs, {"kube-system": {}}), pods, {**pods, **{e.name: e for e in OUTSIDE}}


def _verdicts(docs):
    """(client, server, port name) -> allowed, for every endpoint pair and server port."""
    cluster, pods, servers = _model(docs)
    clients = {**pods, LAN_CLIENT.name: LAN_CLIENT}
    return {
        (c, s, port): cluster.allows(clients[c], servers[s], port)
        for c, s in itertools.product(clients, servers)
        if c in pods or s in pods  # traffic between two outside endpoints is not ours
        for port in servers[s].ports
    }


def _expected(docs):
    pods = netpol.pods(docs, NAMESPACE)
    dns = {(p, "kube-dns", port) for p in pods for port in KUBE_DNS.ports}
    lan = {("lan-client", s, port) for s, port in EXPOSED}
    return NEEDED | dns | lan


def test_every_pod_of_the_model_is_in_the_namespace(rendered):
    pods = netpol.pods(rendered.docs, NAMESPACE)
    assert {p.namespace for p in pods.values()} == {"mlops"}
    assert len(pods) == 19
    # Every pod of the platform is a client of something: a pod missing here is one whose
    # traffic nobody wrote down, so default deny would silently cut it off.
    assert set(pods) - {c for c, _s, _p in NEEDED} == {"postgresql", "statsd-exporter"}
    assert {c for c, _s, _p in NEEDED} - set(pods) == set()


def test_policies_are_schema_valid_and_isolate_every_pod(rendered):
    cluster, pods, _servers = _model(rendered.docs)
    assert len(cluster.policies) >= 20
    for pod in pods.values():
        assert cluster._applying(pod, "Ingress"), f"{pod.name} is not isolated for ingress"
        assert cluster._applying(pod, "Egress"), f"{pod.name} is not isolated for egress"


def test_exactly_the_needed_flows_are_allowed(rendered):
    verdicts = _verdicts(rendered.docs)
    allowed = {key for key, ok in verdicts.items() if ok}
    expected = _expected(rendered.docs)
    assert expected - allowed == set(), "needed flows denied"
    assert allowed - expected == set(), "flows allowed that nothing needs"
    assert len(verdicts) >= 300


@pytest.mark.parametrize(
    ("client", "server", "port"),
    [
        ("web-ui", "postgresql", "postgresql"),
        ("airflow-task", "postgresql", "postgresql"),
        ("model-server", "seaweedfs", "s3"),
        ("grafana", "seaweedfs", "s3"),
        ("lan-client", "postgresql", "postgresql"),
        ("lan-client", "seaweedfs", "s3"),
        ("lan-client", "statsd-exporter", "metrics"),
        ("airflow-task", "internet", "https"),
        ("model-server", "data-api", "http"),
        ("airflow-task", "kube-api", "https"),
        ("web-ui", "prometheus", "http"),
        ("lan-client", "model-server", "metrics"),
        ("web-ui", "model-server", "metrics"),
    ],
)
def test_examples_of_denied_flows(rendered, client, server, port):
    assert _verdicts(rendered.docs)[(client, server, port)] is False


def _policy(docs, name):
    return next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == name)


def test_a_missing_rule_or_a_widened_one_is_caught(rendered):
    docs = copy.deepcopy(rendered.docs)
    from_web = _policy(docs, "allow-from-web-ui")["spec"]["egress"]
    from_web[:] = [r for r in from_web if "mlflow" not in str(r)]
    to_db = _policy(docs, "allow-to-postgresql")["spec"]["ingress"][0]["from"]
    to_db[:] = [p for p in to_db if "model-server" not in str(p)]
    verdicts = _verdicts(docs)
    assert verdicts[("web-ui", "mlflow", "http")] is False
    assert verdicts[("model-server", "postgresql", "postgresql")] is False

    docs = copy.deepcopy(rendered.docs)
    _policy(docs, "allow-to-postgresql")["spec"]["ingress"][0]["from"].append({"podSelector": {}})
    _policy(docs, "allow-from-web-ui")["spec"]["egress"].append({"to": [{"podSelector": {}}]})
    assert _verdicts(docs)[("web-ui", "postgresql", "postgresql")] is True
