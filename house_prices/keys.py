"""Object keys of everything the pipeline stores, in one place.

Batches live under ``<stage>/group=G/day=D/batch=NNNN.parquet`` (stage ``raw`` or ``clean``);
what is derived from a batch is named from the batch's own key, so no other module builds
or takes apart a key by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BatchKey",
    "batch_prefix",
    "clean_key",
    "clean_key_of",
    "clean_report_key",
    "drift_report_key",
    "holdout_key",
    "raw_key",
    "reference_key",
    "run_report_key",
]

_BATCH = re.compile(r"(raw|clean)/group=(\d+)/day=(\w+)/batch=(\d{4,})\.parquet")


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


def batch_prefix(stage: str, group: int, day: str) -> str:
    return f"{stage}/group={group}/day={day}/"


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
    return f"reports/clean/{BatchKey.parse(clean).stem}.json"


def drift_report_key(clean: str, champion_version: str | None) -> str:
    """One batch compared with one champion's training data (or with nothing yet)."""
    against = f"champion={champion_version}" if champion_version else "no-champion"
    return f"reports/drift/{BatchKey.parse(clean).stem}-{against}.json"


def reference_key(fingerprint: str) -> str:
    """The cleaned training data of one model, the reference for drift checks."""
    return f"references/{fingerprint}.parquet"


def holdout_key(fingerprint: str) -> str:
    """The listings one model was scored on, and its champion with it at promotion."""
    return f"holdouts/{fingerprint}.parquet"


def run_report_key(run_id: str, name: str) -> str:
    return f"reports/{run_id}/{name}.json"
