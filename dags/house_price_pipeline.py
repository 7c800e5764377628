"""
### House-price pipeline

Fetches the current listing batch of a group/day from the data API, cleans it, checks it for
drift against the data the champion model was trained on, trains a challenger when there is
no champion or the data drifted, promotes it only when it beats the champion on the same
holdout, and tells the model server to reload.

Tasks exchange object-store keys through XCom, never local paths: in the cluster each task
runs in its own pod. The logic lives in the `house_prices` package; this file only wires it.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from house_prices.dag_header import dag_header
from house_prices.run_records import on_task_failure, on_task_success
from house_prices.settings import DAYS


def _settings():
    from house_prices.settings import Settings

    return Settings.from_env()


@dag(
    **dag_header(__file__, __doc__),
    # The data API serves a new batch at most once every 300 s: ask no more often than that.
    schedule=timedelta(minutes=5),
    # Each finished task leaves a run record in the object store: the pipeline's metrics.
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=20),
        "on_success_callback": on_task_success,
        "on_failure_callback": on_task_failure,
    },
    params={
        "group_number": Param(
            5,
            type="integer",
            minimum=1,
            title="Group number",
            description="Group whose batches the data API serves",
        ),
        "day": Param(
            "Tuesday",
            type="string",
            enum=list(DAYS),
            title="Day",
            description="Day of the data API's batch sequence",
        ),
    },
    tags=["house-prices", "training"],
)
def house_price_pipeline():
    @task
    def ingest(params: dict | None = None) -> dict:
        """Fetch the current batch into object storage (nothing new if already stored)."""
        from house_prices import pipeline

        return pipeline.ingest(_settings(), int(params["group_number"]), params["day"])

    @task
    def clean(ingested: dict) -> dict:
        """Validate and clean every raw batch not cleaned yet; report drops per rule."""
        from house_prices import pipeline

        return pipeline.clean_batches(_settings(), ingested["raw_keys"])

    @task
    def check_drift(cleaned: dict) -> dict:
        """Compare the newest batch with the champion's training data; store the report."""
        from house_prices import pipeline

        return pipeline.check_drift(_settings(), cleaned["latest_clean_key"])

    @task.branch
    def decide(cleaned: dict, drift: dict) -> str:
        """Train only without a champion or on drift; otherwise say why not."""
        from house_prices import pipeline

        decision = pipeline.decide_training(_settings(), cleaned["clean_keys"], drift)
        print(f"{'training' if decision['train'] else 'skipping training'}: {decision['reason']}")
        return "train" if decision["train"] else "skip_training"

    @task
    def skip_training(drift: dict) -> str:
        """Nothing to train: the champion stays. The reason is in the `decide` task's log."""
        return f"kept the champion; drift report at {drift['report_key']}"

    @task
    def train(cleaned: dict, drift: dict, params: dict | None = None) -> dict:
        """Fit a challenger on every cleaned batch, log it to MLflow, register a version."""
        from house_prices import pipeline

        return pipeline.train(
            _settings(),
            int(params["group_number"]),
            params["day"],
            cleaned["clean_keys"],
            drift["report_key"],
        )

    @task
    def promote(trained: dict) -> dict:
        """Score challenger and champion on one holdout; move the champion alias if better."""
        from house_prices import pipeline

        decision = pipeline.promote(_settings(), trained["version"])
        print(f"version {decision['version']}: {decision['reason']}")
        return decision

    @task
    def reload_model_server(decision: dict) -> str:
        """Tell the model server to load the new champion (it also polls the alias)."""
        from house_prices import pipeline

        return pipeline.notify_model_server(_settings()) if decision["promote"] else "unchanged"

    ingested = ingest()
    cleaned = clean(ingested)
    drift = check_drift(cleaned)
    branch = decide(cleaned, drift)
    branch >> skip_training(drift)
    trained = train(cleaned=cleaned, drift=drift)
    branch >> trained
    reload_model_server(promote(trained))


house_price_pipeline()
