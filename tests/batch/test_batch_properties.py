"""Property tests: over random mixes of sync/async, failing, slow and timed-out calls,
results keep their input positions and exceptions land where they were raised."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from batch_helpers import Mode, forever, nap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synchronaut_batch import parallel_iter, parallel_map
from synchronaut_core import CallAnyTimeout

# Timed-out sync calls, abandoned in their thread, wait on this; set after each example.
RELEASE = threading.Event()


class Failure(Exception):
    """Raised by call ``index``; compared by index."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


@dataclass(frozen=True)
class Spec:
    is_async: bool
    behaviour: str  # "value", "fail" or "hang" (hangs past its timeout)
    slow: bool


specs = st.builds(
    Spec,
    is_async=st.booleans(),
    behaviour=st.sampled_from(["value", "value", "fail", "hang"]),
    slow=st.booleans(),
)
batches = st.lists(specs, max_size=12)
limits = st.one_of(st.none(), st.integers(min_value=1, max_value=4))
# parallel_map reads a list or tuple in place and any other iterable lazily: both ways
# must give the same outcomes.
forms = st.sampled_from(["list", "tuple", "iterator"])

SLOW = 0.002
HANG_TIMEOUT = 0.02


def sync_call(index: int, behaviour: str, slow: bool) -> int:
    if slow:
        time.sleep(SLOW)
    if behaviour == "fail":
        raise Failure(index)
    if behaviour == "hang":
        # Well past its timeout, but bounded: abandoned calls keep their worker thread
        # busy, and a small default pool must not stay clogged for the next calls.
        RELEASE.wait(HANG_TIMEOUT * 50)
    return index * 10


async def async_call(index: int, behaviour: str, slow: bool) -> int:
    await nap(SLOW if slow else 0)
    if behaviour == "fail":
        raise Failure(index)
    if behaviour == "hang":
        await forever()
    return index * 10


def build(batch: list[Spec]) -> list[Any]:
    calls: list[Any] = []
    for index, spec in enumerate(batch):
        func = async_call if spec.is_async else sync_call
        timeout = HANG_TIMEOUT if spec.behaviour == "hang" else None
        calls.append((func, (index, spec.behaviour, spec.slow), {}, timeout))
    return calls


def shaped(calls: list[Any], form: str) -> Any:
    if form == "tuple":
        return tuple(calls)
    if form == "iterator":
        return (call for call in calls)
    return calls


def check_outcome(index: int, spec: Spec, outcome: Any) -> None:
    if spec.behaviour == "value":
        assert outcome == index * 10
    elif spec.behaviour == "fail":
        assert isinstance(outcome, Failure)
        assert outcome.index == index
    else:
        assert isinstance(outcome, CallAnyTimeout)


def is_expected_failure(batch: list[Spec], error: BaseException) -> bool:
    if isinstance(error, Failure):
        return batch[error.index].behaviour == "fail"
    if isinstance(error, CallAnyTimeout):
        return any(spec.behaviour == "hang" for spec in batch)
    return False


PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@PROPERTY_SETTINGS
@given(batch=batches, limit=limits, form=forms)
def test_returned_exceptions_stay_in_their_positions(
    mode: Mode, batch: list[Spec], limit: int | None, form: str
) -> None:
    RELEASE.clear()
    try:
        results = mode.call(
            lambda: parallel_map(
                shaped(build(batch), form), return_exceptions=True, max_concurrency=limit
            )
        )
    finally:
        RELEASE.set()

    assert len(results) == len(batch)
    for index, (spec, outcome) in enumerate(zip(batch, results, strict=True)):
        check_outcome(index, spec, outcome)


@PROPERTY_SETTINGS
@given(batch=batches, limit=limits, form=forms)
def test_without_return_exceptions_a_failure_of_the_batch_propagates(
    mode: Mode, batch: list[Spec], limit: int | None, form: str
) -> None:
    RELEASE.clear()
    error: BaseException | None = None
    try:
        results = mode.call(lambda: parallel_map(shaped(build(batch), form), max_concurrency=limit))
    except (Failure, CallAnyTimeout) as exc:
        error = exc
    finally:
        RELEASE.set()

    if error is not None:
        assert is_expected_failure(batch, error)
    else:
        assert all(spec.behaviour == "value" for spec in batch)
        assert results == [index * 10 for index in range(len(batch))]


@PROPERTY_SETTINGS
@given(batch=batches, limit=limits)
def test_parallel_iter_yields_every_position_once_with_its_outcome(
    mode: Mode, batch: list[Spec], limit: int | None
) -> None:
    RELEASE.clear()

    def make() -> Any:
        return parallel_iter(build(batch), max_concurrency=limit)

    async def collect_async() -> list[tuple[int, Any]]:
        return [item async for item in make()]

    try:
        items = mode.call(collect_async) if mode.is_async else list(make())
    finally:
        RELEASE.set()

    assert sorted(index for index, _ in items) == list(range(len(batch)))
    for index, outcome in items:
        check_outcome(index, batch[index], outcome)
