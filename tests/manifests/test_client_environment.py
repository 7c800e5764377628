"""Every client of the platform's services gets the whole client environment, from one place.

The clients (Airflow's components and task pods, the model server, the web UI) read the same
variables (house_prices.settings, model_server/config.py, web/config.py); roles/platform declares
them once (``_platform_client_env``). A client that misses one silently falls back to a default,
e.g. a web UI that keeps reading the model ``house-price`` after the operator renamed it.
"""

from __future__ import annotations

import re

from . import policy

CLIENT_VARIABLES = (
    "MLFLOW_TRACKING_URI",
    "HOUSE_PRICES_MODEL_NAME",
    "MODEL_SERVER_URL",
    "DATA_API_URL",
    "AIRFLOW_API_URL",
)
# With TLS (the default) the clients verify the platform's servers against the appliance CA.
TRUST_VARIABLES = ("PLATFORM_CA_FILE", "MLFLOW_TRACKING_SERVER_CERT_PATH", "AWS_CA_BUNDLE")
CA_FILE = "/etc/platform-ca/ca.crt"
CLIENTS = {
    "Deployment/airflow-api-server",
    "Deployment/airflow-dag-processor",
    "Deployment/airflow-scheduler",
    "Deployment/airflow-triggerer",
    "Deployment/model-server",
    "Deployment/web-ui",
    "Job/airflow-db-migrate",  # shares Airflow's ConfigMap
    "Pod/airflow-task",  # the KubernetesExecutor's pod template
}
# One-purpose bootstrap Jobs that read only some client variables (from the same declaration).
PARTIAL_CLIENTS = {
    "Job/mlflow-accounts": {"MLFLOW_TRACKING_URI"},  # creates the pipeline's MLflow account
    "CronJob/mlflow-gc": {"MLFLOW_TRACKING_URI"},  # `mlflow gc` deletes artifacts through it
}


def container_environments(docs: list[dict]) -> dict[str, dict[str, str]]:
    """Each workload's containers' environment: env entries over its ConfigMaps' data."""
    config_maps = {
        d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"
    }
    environments = {}
    for owner, _, spec in policy.pod_specs(docs):
        # Jobs are named after their spec: drop the hash suffix.
        kind, name = owner["kind"], re.sub(r"-[0-9a-f]{10}$", "", owner["metadata"]["name"])
        for container in spec["containers"]:
            env: dict[str, str] = {}
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    env.update(config_maps[source["configMapRef"]["name"]])
            env.update({e["name"]: e.get("value") for e in container.get("env", [])})
            environments[f"{kind}/{name}/{container['name']}"] = env
    return environments


def client_environments(docs: list[dict]) -> dict[str, dict[str, str]]:
    """The environments that carry any client variable, by workload/container.

    A partial client must carry exactly its own variables; it is then left out of the result.
    """
    clients = {}
    for where, env in container_environments(docs).items():
        carried = set(CLIENT_VARIABLES) & set(env)
        workload = where.rsplit("/", 1)[0]
        if workload in PARTIAL_CLIENTS:
            assert carried == PARTIAL_CLIENTS[workload], where
        elif carried:
            clients[where] = env
    return clients


def partial_client_values(docs: list[dict]) -> dict[str, str]:
    """Every value a partial client reads, by variable name."""
    values = {}
    for where, env in container_environments(docs).items():
        for name in PARTIAL_CLIENTS.get(where.rsplit("/", 1)[0], ()):
            values[name] = env[name]
    return values


def test_every_client_carries_the_whole_client_environment(rendered):
    clients = client_environments(rendered.docs)
    assert {where.rsplit("/", 1)[0] for where in clients} == CLIENTS
    for where, env in clients.items():
        missing = [name for name in CLIENT_VARIABLES + TRUST_VARIABLES if name not in env]
        assert not missing, f"{where} lacks {missing}"
    expected = {
        "MLFLOW_TRACKING_URI": "https://mlflow:5000",
        "HOUSE_PRICES_MODEL_NAME": "house-price",
        "MODEL_SERVER_URL": "https://model-server:8000",
        "DATA_API_URL": "http://192.0.2.50:8080",
        "AIRFLOW_API_URL": "https://airflow-api-server:8080",
    } | dict.fromkeys(TRUST_VARIABLES, CA_FILE)
    for where, env in clients.items():
        assert {name: env[name] for name in CLIENT_VARIABLES + TRUST_VARIABLES} == expected, where
    assert partial_client_values(rendered.docs)["MLFLOW_TRACKING_URI"] == "https://mlflow:5000"


def test_changed_client_settings_reach_every_client(rendered_variant):
    """Every setting changed, TLS off included: plain URLs and no CA settings."""
    clients = client_environments(rendered_variant.docs)
    assert {where.rsplit("/", 1)[0] for where in clients} == CLIENTS
    expected = {
        "MLFLOW_TRACKING_URI": "http://mlflow:5123",
        "HOUSE_PRICES_MODEL_NAME": "renamed-model",
        "MODEL_SERVER_URL": "http://model-server:8123",
        "DATA_API_URL": "http://data.example.test:9000",
        "AIRFLOW_API_URL": "http://airflow-api-server:8124",
    } | dict.fromkeys(TRUST_VARIABLES)
    for where, env in clients.items():
        variables = CLIENT_VARIABLES + TRUST_VARIABLES
        assert {name: env.get(name) for name in variables} == expected, where
    assert partial_client_values(rendered_variant.docs)["MLFLOW_TRACKING_URI"] == (
        "http://mlflow:5123"
    )


def test_every_container_that_names_the_ca_mounts_it(rendered):
    """A CA path in a container's environment is useless unless the CA is mounted there."""
    config_maps = {
        d["metadata"]["name"]: d.get("data", {}) for d in rendered.docs if d["kind"] == "ConfigMap"
    }
    naming = []
    for owner, _, spec in policy.pod_specs(rendered.docs):
        ca_volumes = {
            v["name"] for v in spec.get("volumes", [])
            if v.get("configMap", {}).get("name") == "platform-ca"
        }  # fmt: skip
        for container in spec["containers"] + spec.get("initContainers", []):
            env = {e["name"]: e.get("value") or "" for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    env.update(config_maps[source["configMapRef"]["name"]])
            if not any(CA_FILE in str(value) for value in env.values()):
                continue
            where = f"{owner['kind']}/{owner['metadata']['name']}/{container['name']}"
            naming.append(where)
            mounts = {
                m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in ca_volumes
            }
            assert "/etc/platform-ca" in mounts, f"{where} names {CA_FILE} but does not mount it"
    assert {w.split("/")[1] for w in naming} >= {"model-server", "web-ui", "airflow-scheduler"}
