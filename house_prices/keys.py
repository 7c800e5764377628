"""Object keys of everything the pipeline stores, in one place.

Batches live under ``<stage>/group=G/day=D/batch=NNNN.parquet`` (stage ``raw`` or ``clean``);
what is derived from a batch is named from the batch's own key, so no other module builds
or takes apart a key by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CLEAN_REPORTS_PREFIX",
    "DRIFT_REPORTS_PREFIX",
    "HOLDOUTS_PREFIX",
    "REFERENCES_PREFIX",
    "REPORTS_PREFIX",
    "RUNS_PREFIX",
    "BatchKey",
    "DriftReportKey",
    "batch_of_clean_report",
    "batch_prefix",
    "clean_key",
    "clean_key_of",
    "clean_report_key",
    "drift_report_key",
    "holdout_key",
    "raw_key",
    "reference_key",
    "run_record_key",
    "run_report_key",
    "stage_prefix",
]

REPORTS_PREFIX = "reports/"
CLEAN_REPORTS_PREFIX = f"{REPORTS_PREFIX}clean/"
DRIFT_REPORTS_PREFIX = f"{REPORTS_PREFIX}drift/"
REFERENCES_PREFIX = "references/"
HOLDOUTS_PREFIX = "holdouts/"
#: One record per finished pipeline task (``house_prices.run_records``).
RUNS_PREFIX = "runs/"

_STEM = r"group=(\d+)/day=(\w+)/batch=(\d{4,})"
_BATCH = re.compile(rf"(raw|clean)/{_STEM}\.parquet")
_CLEAN_REPORT = re.compile(rf"{re.escape(CLEAN_REPORTS_PREFIX)}{_STEM}\.json")
_DRIFT_REPORT = re.compile(
    rf"{re.escape(DRIFT_REPORTS_PREFIX)}{_STEM}-(?:champion=(\w+)|no-champion)\.json"
)


@dataclass(frozen=True)
class BatchKey:
    """Where one stored batch came from."""

    stage: str
    group: int
    day: str
    batch: int

    @classmethod
    def parse(cls, key: str) -> BatchKey:
        match = _BATCH.fullmatch(key)
        if match is None:
            raise ValueError(
                f"{key!r} is not a batch key (<raw|clean>/group=G/day=D/batch=NNNN.parquet)"
            )
        stage, group, day, batch = match.groups()
        return cls(stage, int(group), day, int(batch))

    @property
    def stem(self) -> str:
        return f"group={self.group}/day={self.day}/batch={self.batch:04d}"


@dataclass(frozen=True)
class DriftReportKey:
    """Which cleaned batch a drift report compared with which champion (None: no champion)."""

    batch: BatchKey
    champion_version: str | None

    @classmethod
    def parse(cls, key: str) -> DriftReportKey | None:
        """The parts of a drift report's key, or None for any other key."""
        match = _DRIFT_REPORT.fullmatch(key)
        if match is None:
            return None
        group, day, batch, champion = match.groups()
        return cls(BatchKey("clean", int(group), day, int(batch)), champion)


def stage_prefix(stage: str) -> str:
    """Every batch of one stage (``raw`` or ``clean``)."""
    return f"{stage}/"


def batch_prefix(stage: str, group: int, day: str) -> str:
    return f"{stage_prefix(stage)}group={group}/day={day}/"


def raw_key(group: int, day: str, batch: int) -> str:
    return f"{batch_prefix('raw', group, day)}batch={batch:04d}.parquet"


def clean_key(group: int, day: str, batch: int) -> str:
    return f"{batch_prefix('clean', group, day)}batch={batch:04d}.parquet"


def clean_key_of(raw: str) -> str:
    """The cleaned copy of a raw batch."""
    parsed = BatchKey.parse(raw)
    return clean_key(parsed.group, parsed.day, parsed.batch)


def clean_report_key(clean: str) -> str:
    """What the cleaning rules did to one batch."""
    return f"{CLEAN_REPORTS_PREFIX}{BatchKey.parse(clean).stem}.json"


def batch_of_clean_report(key: str) -> BatchKey | None:
    """The cleaned batch a cleaning report is about, or None for any other key."""
    match = _CLEAN_REPORT.fullmatch(key)
    if match is None:
        return None
    group, day, batch = match.groups()
    return BatchKey("clean", int(group), day, int(batch))


def drift_report_key(clean: str, champion_version: str | None) -> str:
    """One batch compared with one champion's training data (or with nothing yet)."""
    against = f"champion={champion_version}" if champion_version else "no-champion"
    return f"{DRIFT_REPORTS_PREFIX}{BatchKey.parse(clean).stem}-{against}.json"


def reference_key(fingerprint: str) -> str:
    """The cleaned training data of one model, the reference for drift checks."""
    return f"{REFERENCES_PREFIX}{fingerprint}.parquet"


def holdout_key(fingerprint: str) -> str:
    """The listings one model was scored on, and its champion with it at promotion."""
    return f"{HOLDOUTS_PREFIX}{fingerprint}.parquet"


def run_report_key(run_id: str, name: str) -> str:
    return f"{REPORTS_PREFIX}{run_id}/{name}.json"


def run_record_key(run_id: str, task_id: str) -> str:
    """The record of one finished task of one pipeline run (any run id made key-safe)."""
    safe_run = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in run_id)
    return f"{RUNS_PREFIX}{safe_run}/{task_id}.json"
