"""Overlapping batches: later batches of a day re-serve listings of earlier ones.

The real data API samples every batch of a group and day from one pool of listings, so a
listing served in batch 2 comes back in batch 5, sometimes exactly, sometimes with a new
price or status. Served batch ``b >= 2`` is the fresh batch ``b`` (from the generator or
the CSV) with ``round(repeat_share * rows)`` of its rows replaced by rows served in batches
``1..b-1`` of the same group and day:

- ``NEAR_DUPLICATE_SHARE`` of them are near duplicates: address, broker and sizes kept,
  the price moved 1-5 % up or down (rounded to $100) and/or ``for_sale`` turned ``sold``;
- the others are exact copies of the earlier row as it was served.

Batch 1 is the fresh batch. Which positions are replaced, which earlier rows come back and
how near duplicates change are drawn from a random stream of their own, seeded by
``(seed, group, day, batch)`` and a salt, so a served batch is a pure function of those and
the settings, the rows that are not replaced are the fresh rows whatever the share, a larger
share replaces a superset of the positions of a smaller one, and a share of 0 serves the
fresh batches unchanged.

Repeats are copied from rows that were served fresh in their batch (a listing served again
is the same listing either way). The plan of a whole day therefore needs random numbers
only, no data: it says which rows of each fresh batch later batches take, and only those
rows are kept in memory (15 % of a day's rows at the default share, about 17 MB a day at the
default size, for the last few days used). When they were dropped, the earlier fresh
batches are built again: they are deterministic.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["NEAR_DUPLICATE_SHARE", "OverlappingBatches"]

#: Share of the repeated rows that are near duplicates (new price and/or status).
NEAR_DUPLICATE_SHARE = 0.5
#: A near duplicate's price moves by this much at least and at most, up or down.
_PRICE_MOVE = (0.01, 0.05)
_SALT_REPEATS = 7_004
# Kinds of near duplicate, a third each: the price moves, the listing is sold, or both. Only
# a for_sale listing can be sold; the others move their price instead.
_MOVE_PRICE, _SELL = 0, 1
# Days whose kept rows stay in memory.
_KEPT_DAYS = 4

FreshBatches = Callable[[int, int, int], pd.DataFrame]


@dataclass(frozen=True)
class _BatchPlan:
    """How one batch's repeats are made; arrays aligned with ``targets``."""

    #: positions of the batch that are replaced
    targets: np.ndarray
    #: batch (1-based) and row of the fresh batch each repeat copies
    source_batch: np.ndarray
    source_row: np.ndarray
    near: np.ndarray
    kind: np.ndarray
    #: signed relative price change of a near duplicate
    price_change: np.ndarray


@dataclass(frozen=True)
class _DayPlan:
    batches: dict[int, _BatchPlan]
    #: per batch, the sorted rows of its fresh batch that later batches copy
    kept_rows: dict[int, np.ndarray]


def _rng(seed: int, group: int, day: int, batch: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, group, day, batch, _SALT_REPEATS]))


def _by_source(source: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``(source, indices)`` pairs: where each distinct value of ``source`` occurs."""
    order = np.argsort(source, kind="stable")
    values, starts = np.unique(source[order], return_index=True)
    return list(zip(values.tolist(), np.split(order, starts[1:]), strict=True))


@functools.lru_cache(maxsize=4)
def _day_plan(seed: int, group: int, day: int, rows: int, share: float, batches: int) -> _DayPlan:
    served_fresh = [np.arange(rows, dtype=np.int32)]  # index b-1: rows batch b served fresh
    plans: dict[int, _BatchPlan] = {}
    for batch in range(2, batches + 1):
        rng = _rng(seed, group, day, batch)
        # Drawn whatever the share: a larger share replaces a longer prefix of it.
        order = rng.permutation(rows)
        k = round(share * rows)
        sizes = np.array([rows_b.size for rows_b in served_fresh])
        ends = np.cumsum(sizes)
        # Uniform over every row served fresh so far.
        pick = rng.integers(0, ends[-1], k)
        source = np.searchsorted(ends, pick, side="right")
        offset = pick - (ends - sizes)[source]
        source_row = np.empty(k, dtype=np.int32)
        for s, where in _by_source(source):
            source_row[where] = served_fresh[s][offset[where]]
        near = rng.random(k) < NEAR_DUPLICATE_SHARE
        kind = rng.integers(0, 3, k).astype(np.int8)
        change = rng.uniform(*_PRICE_MOVE, k) * np.where(rng.random(k) < 0.5, -1.0, 1.0)
        plans[batch] = _BatchPlan(
            targets=order[:k].astype(np.int32),
            source_batch=(source + 1).astype(np.int16),
            source_row=source_row,
            near=near,
            kind=kind,
            price_change=change,
        )
        served_fresh.append(np.sort(order[k:]).astype(np.int32))
    kept: dict[int, list[np.ndarray]] = {}
    for plan in plans.values():
        for s, where in _by_source(plan.source_batch):
            kept.setdefault(s, []).append(plan.source_row[where])
    return _DayPlan(plans, {b: np.unique(np.concatenate(parts)) for b, parts in kept.items()})


@dataclass(frozen=True)
class _KeptRows:
    rows: np.ndarray
    frame: pd.DataFrame

    def take(self, rows: np.ndarray) -> pd.DataFrame:
        return self.frame.iloc[np.searchsorted(self.rows, rows)]


class OverlappingBatches:
    """Served batches: fresh batches with a share of rows re-served from earlier batches.

    Args:
        fresh: ``fresh(group, day_index, batch)`` returns the fresh batch; every batch of
            a day must have ``rows`` rows (the generator's and the CSV source's do).
        seed: base seed of the repeat stream.
        share: ``EmulatorConfig.repeat_share``.
        batches_per_day: batches of a day (the plan looks ahead to the last one).
        rows: rows of every batch.
    """

    def __init__(
        self, fresh: FreshBatches, *, seed: int, share: float, batches_per_day: int, rows: int
    ) -> None:
        self._fresh = fresh
        self._seed = seed
        self._share = share
        self._batches = batches_per_day
        self._rows = rows
        self._kept: OrderedDict[tuple[int, int], dict[int, _KeptRows]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, group: int, day: int, batch: int) -> pd.DataFrame:
        """Batch ``batch`` (1-based) of ``(group, day)`` as served."""
        if not 1 <= batch <= self._batches:
            raise ValueError(f"batch must be between 1 and {self._batches}, got {batch}")
        fresh = self._fresh(group, day, batch)
        if len(fresh) != self._rows:
            raise ValueError(f"fresh batch {batch} has {len(fresh)} rows, expected {self._rows}")
        if self._share == 0:
            return fresh
        plan = _day_plan(self._seed, group, day, self._rows, self._share, self._batches)
        with self._lock:
            self._keep(group, day, batch, fresh, plan)
            if batch == 1 or plan.batches[batch].targets.size == 0:
                return fresh
            return _serve(fresh, plan.batches[batch], self._sources(group, day, batch, plan))

    def _keep(
        self, group: int, day: int, batch: int, fresh: pd.DataFrame, plan: _DayPlan
    ) -> _KeptRows | None:
        rows = plan.kept_rows.get(batch)
        if rows is None:
            return None
        kept = self._kept.setdefault((group, day), {})
        self._kept.move_to_end((group, day))
        while len(self._kept) > _KEPT_DAYS:
            self._kept.popitem(last=False)
        if batch not in kept:
            kept[batch] = _KeptRows(rows, fresh.iloc[rows])
        return kept[batch]

    def _sources(self, group: int, day: int, batch: int, plan: _DayPlan) -> pd.DataFrame:
        """The earlier rows batch ``batch`` re-serves, in the order of its plan."""
        repeats = plan.batches[batch]
        parts, order = [], []
        for source in np.unique(repeats.source_batch):
            source = int(source)
            kept = self._kept.get((group, day), {}).get(source)
            if kept is None:
                kept = self._keep(group, day, source, self._fresh(group, day, source), plan)
            assert kept is not None  # the plan keeps every row it copies
            where = np.flatnonzero(repeats.source_batch == source)
            parts.append(kept.take(repeats.source_row[where]))
            order.append(where)
        sources = pd.concat(parts, ignore_index=True)
        return sources.iloc[np.argsort(np.concatenate(order), kind="stable")]


def _serve(fresh: pd.DataFrame, plan: _BatchPlan, sources: pd.DataFrame) -> pd.DataFrame:
    n = len(fresh)
    take = np.arange(n)
    take[plan.targets] = n + np.arange(plan.targets.size)
    # concat + take keeps each column's dtype (Arrow-backed text stays so: fast to_json).
    served = pd.concat([fresh, sources], ignore_index=True).take(take)
    served = served.reset_index(drop=True)
    _make_near_duplicates(served, plan)
    return served


def _make_near_duplicates(served: pd.DataFrame, plan: _BatchPlan) -> None:
    """Change price and/or status of the near duplicates in place; the address stays."""
    positions = plan.targets
    for_sale = served["status"].iloc[positions].eq("for_sale").fillna(False).to_numpy(bool)
    sell = plan.near & (plan.kind != _MOVE_PRICE) & for_sale
    if sell.any():
        served.iloc[positions[sell], served.columns.get_loc("status")] = "sold"

    old = pd.to_numeric(served["price"].iloc[positions], errors="coerce").to_numpy(float)
    move = plan.near & ((plan.kind != _SELL) | ~for_sale) & np.isfinite(old)
    new = np.maximum(np.round(old * (1.0 + plan.price_change), -2), 100.0)
    new = np.where(new == old, old + 100.0, new)  # a cheap listing still moves
    if move.any():
        if served["price"].dtype.kind != "f":  # numbers sent as text, or whole dollars
            served["price"] = served["price"].astype(object)
        served.iloc[positions[move], served.columns.get_loc("price")] = new[move]
