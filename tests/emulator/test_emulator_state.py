"""Batch sequence rules of the data API emulator, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import threading

import pytest

from data_api_emulator.state import BatchesExhausted, BatchSequencer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def seq(clock: FakeClock) -> BatchSequencer:
    return BatchSequencer(batches_per_day=3, min_interval_seconds=300, clock=clock)


def test_first_call_gets_batch_one(seq: BatchSequencer) -> None:
    step = seq.next_batch(5, 1)
    assert (step.batch, step.advanced) == (1, True)


def test_calls_within_the_interval_repeat_the_batch(seq: BatchSequencer, clock: FakeClock) -> None:
    seq.next_batch(5, 1)
    clock.now += 299.9
    step = seq.next_batch(5, 1)
    assert (step.batch, step.advanced) == (1, False)


def test_advances_once_the_interval_has_passed(seq: BatchSequencer, clock: FakeClock) -> None:
    seq.next_batch(5, 1)
    clock.now += 300  # "at least" the interval
    assert seq.next_batch(5, 1).batch == 2
    # The interval counts from the last advance, not from the last call.
    clock.now += 200
    assert seq.next_batch(5, 1).batch == 2
    clock.now += 100
    assert seq.next_batch(5, 1).batch == 3


def test_waiting_long_does_not_skip_batches(seq: BatchSequencer, clock: FakeClock) -> None:
    seq.next_batch(5, 1)
    clock.now += 10_000
    assert seq.next_batch(5, 1).batch == 2


def test_exhausted_after_the_last_batch_interval(seq: BatchSequencer, clock: FakeClock) -> None:
    for expected in (1, 2, 3):
        assert seq.next_batch(5, 1).batch == expected
        clock.now += 300
    with pytest.raises(BatchesExhausted):
        seq.next_batch(5, 1)
    # Sticky: no time passes and still exhausted.
    with pytest.raises(BatchesExhausted):
        seq.next_batch(5, 1)


def test_last_batch_repeats_before_its_interval(seq: BatchSequencer, clock: FakeClock) -> None:
    for _ in range(2):
        seq.next_batch(5, 1)
        clock.now += 300
    assert seq.next_batch(5, 1).batch == 3
    clock.now += 10
    assert seq.next_batch(5, 1).batch == 3


def test_restart_starts_over(seq: BatchSequencer, clock: FakeClock) -> None:
    for _ in range(3):
        seq.next_batch(5, 1)
        clock.now += 300
    with pytest.raises(BatchesExhausted):
        seq.next_batch(5, 1)
    seq.restart(5, 1)
    assert seq.next_batch(5, 1).batch == 1
    assert seq.snapshot() == {(5, 1): (1, False)}


def test_groups_and_days_are_independent(seq: BatchSequencer, clock: FakeClock) -> None:
    seq.next_batch(5, 1)
    clock.now += 300
    assert seq.next_batch(5, 1).batch == 2
    assert seq.next_batch(5, 2).batch == 1
    assert seq.next_batch(6, 1).batch == 1
    seq.restart(5, 2)
    assert seq.snapshot()[(5, 1)] == (2, False)


def test_zero_interval_advances_on_every_call(clock: FakeClock) -> None:
    seq = BatchSequencer(batches_per_day=2, min_interval_seconds=0, clock=clock)
    assert [seq.next_batch(1, 0).batch for _ in range(2)] == [1, 2]
    with pytest.raises(BatchesExhausted):
        seq.next_batch(1, 0)


def test_concurrent_calls_advance_once(seq: BatchSequencer, clock: FakeClock) -> None:
    seq.next_batch(5, 1)
    clock.now += 300
    results: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def call() -> None:
        barrier.wait()
        step = seq.next_batch(5, 1)
        with lock:
            results.append(step.batch)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [2] * 16


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batches_per_day": 0, "min_interval_seconds": 1}, "batches_per_day"),
        ({"batches_per_day": 1, "min_interval_seconds": -1}, "min_interval_seconds"),
    ],
)
def test_rejects_invalid_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BatchSequencer(**kwargs)
