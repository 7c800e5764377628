"""The platform's MLflow accounts, created (or their passwords reset) by the MLflow admin.

The cluster's MLflow runs with basic-auth and a default permission of READ. Two accounts:

- ``pipeline`` (task pods, Airflow components): owns (MANAGE) what it creates, and is granted
  MANAGE here on the platform's experiments when they already exist (an older install made
  them as the admin) and on the registered model, which is made here if missing (under
  basic-auth a missing model reads as 403 to the reader), so it logs runs, registers
  versions, moves the alias and deletes rejected versions;
- ``reader`` (model server, web UI, Prometheus): reads everything through the default
  permission and can change nothing.

Neither can create users, change another user's password or make anyone an admin. Run by the
mlflow role's account Job as ``python -m house_prices.mlflow_accounts`` with the admin in
MLFLOW_TRACKING_USERNAME/PASSWORD, the accounts in MLFLOW_PIPELINE_USERNAME/PASSWORD and
MLFLOW_READER_USERNAME/PASSWORD, and the names to grant in MLFLOW_PIPELINE_EXPERIMENTS and
MLFLOW_PIPELINE_MODELS (comma-separated). With TLS it verifies the server against the CA file
in MLFLOW_TRACKING_SERVER_CERT_PATH, as MLflow's own client does.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping

import requests

USERS_API = "/api/2.0/mlflow/users"
API = "/api/2.0/mlflow"
PERMISSIONS_API = "/api/3.0/mlflow/users/permissions"
CA_VARIABLE = "MLFLOW_TRACKING_SERVER_CERT_PATH"


class AccountError(RuntimeError):
    pass


def _check(answer: requests.Response, what: str) -> None:
    if answer.status_code >= 400:
        raise AccountError(f"{what} failed: HTTP {answer.status_code} {answer.text[:300]}")


def tls_verify(env: Mapping[str, str] = os.environ) -> str | bool:
    """What requests verifies the server with: MLflow's MLFLOW_TRACKING_SERVER_CERT_PATH (the
    appliance CA) when set, else the default trust store."""
    return env.get(CA_VARIABLE) or True


def _admin_session(admin: tuple[str, str], verify: str | bool) -> requests.Session:
    session = requests.Session()
    session.auth = admin
    session.verify = verify
    # requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override a Session's verify: the CA
    # given here must win (the cluster's services need no proxy settings from the environment).
    session.trust_env = False
    return session


def ensure_account(
    url: str,
    admin: tuple[str, str],
    username: str,
    password: str,
    verify: str | bool = True,
) -> str:
    """Create the user, or set its password when it exists. Returns "created" or "updated"."""
    if username == admin[0]:
        raise AccountError(f"a platform account must not be the admin ({username!r})")
    session = _admin_session(admin, verify)
    account = {"username": username, "password": password}
    found = session.get(f"{url}{USERS_API}/get", params={"username": username}, timeout=30)
    if found.status_code == 404:
        created = session.post(f"{url}{USERS_API}/create", json=account, timeout=30)
        _check(created, f"creating MLflow user {username!r}")
        return "created"
    _check(found, f"looking up MLflow user {username!r}")
    if found.json().get("user", {}).get("is_admin"):
        raise AccountError(f"MLflow user {username!r} is an admin: give the account another name")
    updated = session.patch(f"{url}{USERS_API}/update-password", json=account, timeout=30)
    _check(updated, f"setting the password of MLflow user {username!r}")
    return "updated"


def _grant(
    session: requests.Session, url: str, resource_type: str, resource_id: str, username: str
):
    """MANAGE for ``username`` on one object (MLflow 3's user permission API; idempotent)."""
    key = {"username": username, "resource_type": resource_type, "resource_id": resource_id}
    what = f"MANAGE for {username!r} on {resource_type} {resource_id!r}"
    held = session.get(f"{url}{PERMISSIONS_API}/get", params=key, timeout=30)
    _check(held, f"reading {what}")
    if held.json().get("permission") == "MANAGE":
        return
    body = {**key, "permission": "MANAGE"}
    granted = session.post(f"{url}{PERMISSIONS_API}/grant", json=body, timeout=30)
    if granted.status_code >= 400:  # a lesser grant exists: replace it
        revoked = session.post(f"{url}{PERMISSIONS_API}/revoke", json=key, timeout=30)
        _check(revoked, f"replacing the grant before {what}")
        granted = session.post(f"{url}{PERMISSIONS_API}/grant", json=body, timeout=30)
    _check(granted, f"granting {what}")


def grant_manage(
    url: str,
    admin: tuple[str, str],
    username: str,
    experiments: list[str],
    models: list[str],
    verify: str | bool = True,
) -> list[str]:
    """MANAGE for ``username`` on each named experiment that exists and each named model
    (made if missing); the granted names. A missing experiment is left alone: the account
    creates it and owns it then."""
    session = _admin_session(admin, verify)
    granted = []
    for name in experiments:
        found = session.get(
            f"{url}{API}/experiments/get-by-name", params={"experiment_name": name}, timeout=30
        )
        if found.status_code == 404:
            continue
        _check(found, f"looking up experiment {name!r}")
        experiment_id = found.json()["experiment"]["experiment_id"]
        _grant(session, url, "experiment", experiment_id, username)
        granted.append(f"experiment {name}")
    for name in models:
        # The model is made here if missing: under basic-auth a model that does not exist reads
        # as 403, so the model server's and web UI's reader would see "refused" instead of
        # "no champion yet" until the first training.
        found = session.get(f"{url}{API}/registered-models/get", params={"name": name}, timeout=30)
        if found.status_code == 404:
            made = session.post(
                f"{url}{API}/registered-models/create", json={"name": name}, timeout=30
            )
            _check(made, f"creating registered model {name!r}")
        else:
            _check(found, f"looking up registered model {name!r}")
        _grant(session, url, "registered_model", name, username)
        granted.append(f"model {name}")
    return granted


def wait_until_up(
    url: str, attempts: int = 60, delay: float = 5.0, verify: str | bool = True
) -> None:
    last = "no answer"
    for _ in range(attempts):
        try:
            answer = requests.get(f"{url}/health", timeout=10, verify=verify)
            if answer.status_code == 200:
                return
            last = f"HTTP {answer.status_code}"
        except requests.exceptions.SSLError as exc:
            last = f"TLS verification failed ({exc.__class__.__name__}): check {CA_VARIABLE}"
        except requests.RequestException as exc:
            last = exc.__class__.__name__
        time.sleep(delay)
    raise AccountError(f"MLflow at {url} never answered /health: {last}")


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def main() -> int:
    env = os.environ
    url = env["MLFLOW_TRACKING_URI"].rstrip("/")
    verify = tls_verify(env)
    admin = (env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"])
    pipeline = env["MLFLOW_PIPELINE_USERNAME"]
    accounts = {
        pipeline: env["MLFLOW_PIPELINE_PASSWORD"],
        env["MLFLOW_READER_USERNAME"]: env["MLFLOW_READER_PASSWORD"],
    }
    if len(accounts) < 2:
        print("the pipeline and reader accounts need two different names", file=sys.stderr)
        return 1
    try:
        wait_until_up(url, verify=verify)
        for username, password in accounts.items():
            outcome = ensure_account(url, admin, username, password, verify)
            print(f"MLflow user {username!r} {outcome}")
        granted = grant_manage(
            url,
            admin,
            pipeline,
            _names(env.get("MLFLOW_PIPELINE_EXPERIMENTS", "")),
            _names(env.get("MLFLOW_PIPELINE_MODELS", "")),
            verify,
        )
    except AccountError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"MANAGE for {pipeline!r} on: {', '.join(granted) or 'nothing yet'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
