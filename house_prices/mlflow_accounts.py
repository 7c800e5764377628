"""The pipeline's own MLflow account, created (or its password reset) by the MLflow admin.

The cluster's MLflow runs with basic-auth. Task pods log as this account, not as the admin:
it works on experiments and registered models through the server's default permission
(``mlflow_auth_default_permission``) and cannot create users, change another user's password
or make anyone an admin. Run by the mlflow role's account Job as
``python -m house_prices.mlflow_accounts`` with the admin in MLFLOW_TRACKING_USERNAME/PASSWORD
and the account in MLFLOW_PIPELINE_USERNAME/PASSWORD. With TLS it verifies the server against
the CA file in MLFLOW_TRACKING_SERVER_CERT_PATH, as MLflow's own client does.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping

import requests

USERS_API = "/api/2.0/mlflow/users"
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


def ensure_account(
    url: str,
    admin: tuple[str, str],
    username: str,
    password: str,
    verify: str | bool = True,
) -> str:
    """Create the user, or set its password when it exists. Returns "created" or "updated"."""
    if username == admin[0]:
        raise AccountError(f"the pipeline account must not be the admin ({username!r})")
    session = requests.Session()
    session.auth = admin
    session.verify = verify
    account = {"username": username, "password": password}
    found = session.get(f"{url}{USERS_API}/get", params={"username": username}, timeout=30)
    if found.status_code == 404:
        created = session.post(f"{url}{USERS_API}/create", json=account, timeout=30)
        _check(created, f"creating MLflow user {username!r}")
        return "created"
    _check(found, f"looking up MLflow user {username!r}")
    if found.json().get("user", {}).get("is_admin"):
        raise AccountError(f"MLflow user {username!r} is an admin: give the pipeline another name")
    updated = session.patch(f"{url}{USERS_API}/update-password", json=account, timeout=30)
    _check(updated, f"setting the password of MLflow user {username!r}")
    return "updated"


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


def main() -> int:
    env = os.environ
    url = env["MLFLOW_TRACKING_URI"].rstrip("/")
    verify = tls_verify(env)
    admin = (env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"])
    username = env["MLFLOW_PIPELINE_USERNAME"]
    try:
        wait_until_up(url, verify=verify)
        outcome = ensure_account(url, admin, username, env["MLFLOW_PIPELINE_PASSWORD"], verify)
    except AccountError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"MLflow user {username!r} {outcome}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
