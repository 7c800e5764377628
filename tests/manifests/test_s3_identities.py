"""Each S3 client of the platform has its own identity, limited to the bucket it uses.

No SeaweedFS binary runs here (no `weed` on the test machines; the image tests stand in moto,
which ignores permissions): the rendered s3.json is judged by `can_do`, a port of SeaweedFS's
Identity.canDo (weed/s3api/auth_credentials.go): "Admin" allows everything, a bare action
allows it on every bucket, "Action:bucket" on that bucket's objects, "Action:bucket/prefix*"
on keys under the prefix.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

BUCKETS = {"data": "house-prices", "mlflow": "mlflow-artifacts", "logs": "airflow-logs"}


def can_do(actions: list[str], action: str, bucket: str, key: str = "") -> bool:
    if "Admin" in actions or action in actions:
        return True
    if not bucket:
        return False
    path = bucket + ("/" if key and not key.startswith("/") else "") + key
    for granted in actions:
        if granted.endswith("*"):
            if f"{action}:{path}".startswith(granted[:-1]) or f"Admin:{path}".startswith(
                granted[:-1]
            ):
                return True
        elif granted in (f"{action}:{bucket}", f"Admin:{bucket}"):
            return True
    return False


@pytest.fixture(scope="module")
def s3(rendered):
    render = rendered
    secrets = {
        d["metadata"]["name"]: d
        for f in (render.dir / "secrets").glob("*.yaml")
        for d in yaml.safe_load_all(f.read_text())
    }
    config = json.loads(secrets["seaweedfs-s3-config"]["stringData"]["s3.json"])
    by_key = {
        cred["accessKey"]: (identity["name"], cred["secretKey"], identity["actions"])
        for identity in config["identities"]
        for cred in identity["credentials"]
    }
    return render, secrets, config, by_key


def _identity_of_secret(s3, secret_name):
    _render, secrets, _config, by_key = s3
    data = secrets[secret_name]["stringData"]
    name, secret_key, actions = by_key[data["AWS_ACCESS_KEY_ID"]]
    assert secret_key == data["AWS_SECRET_ACCESS_KEY"]
    return name, actions


def _pod_secrets(render, owner_name):
    from . import policy

    for owner, _meta, spec in policy.pod_specs(render.docs):
        if owner["metadata"]["name"] == owner_name:
            return {
                e["secretRef"]["name"]
                for c in spec["containers"]
                for e in c.get("envFrom") or []
                if "secretRef" in e
            }
    raise AssertionError(f"no workload {owner_name}")


def test_every_identity_has_its_own_generated_keys(s3):
    render, _secrets, config, by_key = s3
    assert [i["name"] for i in config["identities"]] == [
        "platform",
        "mlflow",
        "pipeline",
        "airflow-logs",
        "web-ui",
    ]
    assert len(by_key) == 5
    generated = {render.secrets[k] for k in render.secrets if k.startswith("s3_")}
    assert {key for key in by_key} | {v[1] for v in by_key.values()} <= generated


# (client workload, secret it reads, identity, bucket it must use)
CLIENTS = [
    ("mlflow", "mlflow-s3-credentials", "mlflow", "mlflow"),
    ("airflow-task", "s3-credentials", "pipeline", "data"),
    ("airflow-scheduler", "s3-credentials", "pipeline", "data"),
    ("web-ui", "s3-web-credentials", "web-ui", "data"),
]


@pytest.mark.parametrize(("workload", "secret", "identity", "bucket"), CLIENTS)
def test_each_client_gets_only_its_bucket(s3, workload, secret, identity, bucket):
    render = s3[0]
    assert secret in _pod_secrets(render, workload)
    assert not {"s3-admin-credentials"} & _pod_secrets(render, workload)
    name, actions = _identity_of_secret(s3, secret)
    assert name == identity
    mine = BUCKETS[bucket]
    assert can_do(actions, "Read", mine, "reports/x.json")
    assert can_do(actions, "List", mine)
    for other in set(BUCKETS.values()) - {mine}:
        for action in ("Read", "Write", "List"):
            assert not can_do(actions, action, other, "a/b"), (identity, action, other)
    assert not can_do(actions, "Admin", "new-bucket")  # cannot create buckets
    assert not can_do(actions, "List", "")  # cannot list the buckets


def test_the_web_ui_only_reads(s3):
    _name, actions = _identity_of_secret(s3, "s3-web-credentials")
    assert not can_do(actions, "Write", "house-prices", "reports/x.json")


def test_airflow_log_connection_uses_the_log_identity(s3):
    _render, secrets, _config, by_key = s3
    conn = json.loads(
        secrets["airflow-task-credentials"]["stringData"]["AIRFLOW_CONN_SEAWEEDFS_S3"]
    )
    name, secret_key, actions = by_key[conn["login"]]
    assert (name, secret_key) == ("airflow-logs", conn["password"])
    assert can_do(actions, "Write", "airflow-logs", "dag_id=x/run_id=y/task.log")
    assert not can_do(actions, "Read", "house-prices", "raw/x.parquet")


def test_only_the_bucket_job_holds_the_admin_keys(s3):
    render = s3[0]
    name, actions = _identity_of_secret(s3, "s3-admin-credentials")
    assert name == "platform" and can_do(actions, "Admin", "new-bucket")
    from . import policy

    holders = {
        re.sub(r"-[0-9a-f]{10}$", "", owner["metadata"]["name"])
        for owner, _meta, spec in policy.pod_specs(render.docs)
        for c in spec["containers"]
        for e in c.get("envFrom") or []
        if e.get("secretRef", {}).get("name") == "s3-admin-credentials"
    }
    assert holders == {"seaweedfs-buckets"}


def test_can_do_follows_seaweedfs_semantics():
    assert can_do(["Admin"], "Write", "any", "k")
    assert can_do(["Read"], "Read", "any", "k")
    assert can_do(["Read:b"], "Read", "b", "k") and not can_do(["Read:b"], "Read", "c", "k")
    assert not can_do(["Read:b"], "Write", "b", "k")
    assert can_do(["Write:b/logs/*"], "Write", "b", "logs/x") and not can_do(
        ["Write:b/logs/*"], "Write", "b", "raw/x"
    )
    assert not can_do(["Read:b"], "Read", "")
