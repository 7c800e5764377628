"""In-cluster checks run by the smoke role inside an Airflow pod (our application image).

Usage: python smoke_checks.py s3-roundtrip
       python smoke_checks.py mlflow-roundtrip PINNED_VERSION
       python smoke_checks.py s3-count BUCKET PREFIX
Exits non-zero with a message on the first failure.
"""

import os
import sys
import uuid


def _s3():
    import boto3

    return boto3.client(
        "s3", endpoint_url=os.environ["HOUSE_PRICES_S3_ENDPOINT"], region_name="us-east-1"
    )


def s3_roundtrip() -> None:
    s3 = _s3()
    bucket = os.environ["HOUSE_PRICES_S3_BUCKET"]
    key = f"smoke/{uuid.uuid4().hex}.txt"
    body = uuid.uuid4().hex.encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.delete_object(Bucket=bucket, Key=key)
    if got != body:
        sys.exit(f"S3 round trip returned different bytes for s3://{bucket}/{key}")
    print(f"s3 ok: put/get/delete s3://{bucket}/{key}")


def mlflow_roundtrip(pinned: str) -> None:
    import mlflow
    import requests

    uri = os.environ["MLFLOW_TRACKING_URI"]
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    auth = (user, os.environ["MLFLOW_TRACKING_PASSWORD"]) if user else None
    # An https server is verified against the CA MLflow's client uses (the platform's CA).
    verify = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH") or True
    server = requests.get(f"{uri}/version", auth=auth, timeout=10, verify=verify)
    server.raise_for_status()
    versions = {"server": server.text.strip(), "client": mlflow.__version__, "pinned": pinned}
    if len(set(versions.values())) != 1:
        sys.exit(f"MLflow version mismatch: {versions}")

    class Echo(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    token = uuid.uuid4().hex
    mlflow.set_experiment("appliance-smoke-test")
    with mlflow.start_run(run_name=f"smoke-{token[:8]}") as run:
        mlflow.log_param("token", token)
        mlflow.log_metric("answer", 42.0)
        mlflow.log_dict({"token": token}, "smoke/token.json")
        info = mlflow.pyfunc.log_model(name="echo", python_model=Echo())
    got = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/smoke/token.json")
    if got != {"token": token}:
        sys.exit(f"MLflow artifact round trip returned {got!r}")
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    if list(loaded.predict([token])) != [token]:
        sys.exit("MLflow model round trip returned a different prediction")
    fetched = mlflow.get_run(run.info.run_id)
    if fetched.data.params.get("token") != token or fetched.data.metrics.get("answer") != 42.0:
        sys.exit("MLflow run round trip lost its param or metric")
    print(f"mlflow ok: version {pinned}, run {run.info.run_id}, model {info.model_uri}")


def s3_count(bucket: str, prefix: str) -> None:
    pages = _s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    count = sum(len(page.get("Contents", [])) for page in pages)
    if count == 0:
        sys.exit(f"no objects under s3://{bucket}/{prefix}")
    print(count)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"s3-roundtrip": s3_roundtrip, "mlflow-roundtrip": mlflow_roundtrip, "s3-count": s3_count}[
        command
    ](*args)
