"""Object keys of everything the pipeline stores, in one place."""

from __future__ import annotations

__all__ = [
    "batch_prefix",
    "clean_key",
    "holdout_key",
    "raw_key",
    "reference_key",
    "run_report_key",
]


def batch_prefix(stage: str, group: int, day: str) -> str:
    return f"{stage}/group={group}/day={day}/"


def raw_key(group: int, day: str, batch: int) -> str:
    return f"{batch_prefix('raw', group, day)}batch={batch:04d}.parquet"


def clean_key(group: int, day: str, batch: int) -> str:
    return f"{batch_prefix('clean', group, day)}batch={batch:04d}.parquet"


def reference_key(fingerprint: str) -> str:
    """The cleaned training data of one model, the reference for drift checks."""
    return f"references/{fingerprint}.parquet"


def holdout_key(fingerprint: str) -> str:
    """The listings one model was scored on, and its champion with it at promotion."""
    return f"holdouts/{fingerprint}.parquet"


def run_report_key(run_id: str, name: str) -> str:
    return f"reports/{run_id}/{name}.json"
