"""Volume layout of the single SeaweedFS server, sized so its disk use fits its claim."""

from __future__ import annotations

import math

MIB = 2**20
# Volumes the master creates at once for a collection with no replication (master.toml
# [master.volume_growth] copy_1); every S3 bucket is a collection of its own.
GROWTH_PER_COLLECTION = 7
# Room left on the claim for the master's and filer's metadata and for a volume's overshoot
# (the master stops directing writes at the limit; in-flight writes still land).
HEADROOM = 0.10
MIN_VOLUME_MB = 64
MAX_VOLUME_MB = 1024


def _mebibytes(quantity) -> int:
    units = {"Mi": 1, "Gi": 1024, "Ti": 1024**2, "M": 10**6 / MIB, "G": 10**9 / MIB}
    text = str(quantity).strip()
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return int(float(text[: -len(suffix)]) * units[suffix])
    raise ValueError(f"{quantity!r} is not a storage quantity such as 50Gi or 512Mi")


def seaweedfs_volume_layout(claim, buckets, volume_size_limit_mb=0):
    """``{volume_size_limit_mb, volume_max, usable_mb, claim_mb}`` for a claim and bucket count.

    volume_max * volume_size_limit_mb never exceeds the claim less HEADROOM, and there are
    enough volumes for every bucket's first growth. ``volume_size_limit_mb`` 0 picks the
    largest size up to MAX_VOLUME_MB that leaves room for them.
    """
    claim_mb = _mebibytes(claim)
    usable_mb = math.floor(claim_mb * (1 - HEADROOM))
    needed = max(int(buckets), 1) * GROWTH_PER_COLLECTION
    limit = int(volume_size_limit_mb or 0)
    if limit == 0:
        limit = min(MAX_VOLUME_MB, usable_mb // needed)
    if limit < MIN_VOLUME_MB:
        raise ValueError(
            f"platform_storage.seaweedfs {claim} is too small: {needed} volumes "
            f"({int(buckets)} buckets x {GROWTH_PER_COLLECTION}) of at least {MIN_VOLUME_MB} MB "
            f"need {math.ceil(needed * MIN_VOLUME_MB / (1 - HEADROOM) / 1024)}Gi. "
            "Raise platform_storage.seaweedfs."
        )
    volume_max = usable_mb // limit
    if volume_max < needed:
        raise ValueError(
            f"seaweedfs_volume_size_limit_mb {limit} leaves room for {volume_max} volumes on "
            f"{claim}, but the {int(buckets)} buckets need {needed}. Lower "
            "seaweedfs_volume_size_limit_mb (0 picks a fitting size) or raise "
            "platform_storage.seaweedfs."
        )
    return {
        "volume_size_limit_mb": limit,
        "volume_max": volume_max,
        "usable_mb": usable_mb,
        "claim_mb": claim_mb,
    }


class FilterModule:
    """SeaweedFS sizing filters."""

    def filters(self):
        return {"seaweedfs_volume_layout": seaweedfs_volume_layout}
