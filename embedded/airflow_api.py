"""The few Airflow REST calls the launcher needs: wait for the DAG, run it once."""

from __future__ import annotations

import sys
import time

import requests

DAG_ID = "house_price_pipeline"


class Airflow:
    def __init__(self, base: str, password: str) -> None:
        self.base = base
        token = requests.post(
            f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30
        )
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(
            method, f"{self.base}/api/v2{path}", headers=self.headers, timeout=30, **kwargs
        )

    def wait_for_dag(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while self.call("GET", f"/dags/{DAG_ID}").status_code != 200:
            if time.monotonic() > deadline:
                sys.exit(
                    f"DAG {DAG_ID} was not parsed within {timeout:.0f} s; "
                    "see .state/logs/airflow-dag-processor.log"
                )
            time.sleep(3)

    def run_dag(self, conf: dict, timeout: float = 900) -> str:
        self.call("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
        response = self.call(
            "POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": conf}
        )
        response.raise_for_status()
        run_id = response.json()["dag_run_id"]
        print(f"  triggered {DAG_ID} run {run_id}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}").json()["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(5)
        return "timed out"
