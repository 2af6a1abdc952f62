"""After the first failure a batch starts no further call, whatever the task factory.

Under ``asyncio.eager_task_factory`` (Python 3.12+) a task runs its first step inside
``create_task``: a worker whose first call fails at once has failed before the next
worker exists, so cancelling "the other workers" is not enough -- no worker may be
made, and none may take a call, once the batch has failed (issue 14, item 10). The
property below holds in every mode; the ``asyncio+eager`` one is what it was for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from batch_helpers import Mode, checkpoint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synchronaut_batch import parallel_iter, parallel_map


class Boom(Exception):
    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


@dataclass
class Record:
    """What the calls of one batch saw, in the order they saw it."""

    failures: list[int] = field(default_factory=list)
    started_after_failure: list[int] = field(default_factory=list)
    running: set[int] = field(default_factory=set)
    started: list[int] = field(default_factory=list)


async def call(record: Record, index: int, pauses: int, fails: bool) -> int:
    """Checkpoint ``pauses`` times, then fail (``fails``) or return ``index``."""
    if record.failures:
        record.started_after_failure.append(index)
    record.started.append(index)
    record.running.add(index)
    try:
        for _ in range(pauses):
            await checkpoint()
        if fails:
            record.failures.append(index)
            raise Boom(index)
        return index
    finally:
        record.running.discard(index)


@dataclass(frozen=True)
class Spec:
    pauses: int
    fails: bool


batches = st.lists(
    st.builds(Spec, pauses=st.integers(min_value=0, max_value=2), fails=st.booleans()),
    min_size=1,
    max_size=8,
).filter(lambda batch: any(spec.fails for spec in batch))
limits = st.one_of(st.none(), st.integers(min_value=1, max_value=4))


def run_batch(mode: Mode, batch: list[Spec], limit: int | None) -> tuple[Record, Boom]:
    record = Record()
    calls: list[Any] = [
        (call, (record, index, spec.pauses, spec.fails), {}, None)
        for index, spec in enumerate(batch)
    ]
    with pytest.raises(Boom) as caught:
        mode.call(lambda: parallel_map(calls, max_concurrency=limit))
    return record, caught.value


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=batches, limit=limits)
def test_no_call_starts_after_the_first_failure(
    mode: Mode, batch: list[Spec], limit: int | None
) -> None:
    record, error = run_batch(mode, batch, limit)

    assert record.started_after_failure == []
    assert error.index == record.failures[0]  # the first failure is the one raised
    assert record.running == set()  # every call that started has ended (or was cancelled)


def test_a_call_failing_before_it_awaits_stops_the_batch_at_once(mode: Mode) -> None:
    # The shape of the report: under eager tasks, every worker made after the first
    # one's failure started its call.
    batch = [Spec(pauses=0, fails=True)] + [Spec(pauses=1, fails=False)] * 4

    record, error = run_batch(mode, batch, None)

    assert error.index == 0
    assert record.started == [0]


def test_a_call_failing_before_it_awaits_stops_later_workers_and_earlier_calls(
    mode: Mode,
) -> None:
    batch = [Spec(pauses=1, fails=False), Spec(pauses=0, fails=True)] + [
        Spec(pauses=1, fails=False)
    ] * 3

    record, _ = run_batch(mode, batch, None)

    assert record.started_after_failure == []
    assert record.running == set()  # call 0 was cancelled, its finally ran


async def fatal_or_call(record: Record, index: int, pauses: int, fatal: bool) -> int:
    """As ``call``, but the failure is a ``KeyboardInterrupt`` (which ends a parallel_iter)."""
    try:
        return await call(record, index, pauses, fatal)
    except Boom:
        raise KeyboardInterrupt from None


@pytest.mark.parametrize("fatal_at", [0, 2])
@pytest.mark.parametrize("limit", [None, 2])
def test_parallel_iter_starts_no_call_after_a_fatal_error(
    mode: Mode, fatal_at: int, limit: int | None
) -> None:
    record = Record()
    calls: list[Any] = [
        (fatal_or_call, (record, index, 0 if index == fatal_at else 1, index == fatal_at), {}, None)
        for index in range(6)
    ]

    async def consume_async() -> None:
        async for _ in parallel_iter(calls, max_concurrency=limit):
            pass

    def consume() -> None:
        if mode.is_async:
            mode.call(consume_async)
        else:
            for _ in parallel_iter(calls, max_concurrency=limit):
                pass

    with pytest.raises(KeyboardInterrupt):
        consume()

    assert record.failures == [fatal_at]
    assert record.started_after_failure == []
    assert record.running == set()  # the calls it interrupted have ended
