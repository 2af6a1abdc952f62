"""No call of a batch is left without an outcome, whatever its calls do to their worker.

Found by review of ac58fba (see test_batch_found_worker_cancel_count.py): a worker
task runs many calls in turn, and the batch trusted a worker's end to mean its calls
were done. A worker that got a ``CancelledError`` while a request to cancel it was
pending -- the call cancelled its own task (``asyncio.current_task().cancel()``),
raising or swallowing it, or a request a call left behind (3.10: anyio's cancel
scopes; a user's task factory, whose tasks count nothing) -- took it for the batch's
cancellation and ended quietly: ``parallel_map`` returned a list cut short and
``parallel_iter`` waited forever.

Fixed in ``_asyncio``: such a worker ends and hands the call's ``CancelledError`` to
the batch's owner (``parallel_map``'s awaiting task; ``parallel_iter``'s consumer,
through its queue), who records it as that call's outcome and starts a fresh worker
for the calls left -- unless the owner is being cancelled itself, which makes it the
batch's cancellation (asyncio.run's end cancels every task at once). A worker
cancelled before its first step (by a call cancelling other tasks) is noticed by its
done-callback the same way.

The search: a hypothesis-made batch whose every call picks a behaviour (return,
raise, sleep, a sync call, cancel its own task and raise, cancel it and swallow,
await a cancelled future, ``anyio.move_on_after``, a per-call timeout), under
``max_concurrency`` 1, 2, 3 or none, with or without a task factory of the user's
(on 3.10 its tasks count nothing): one outcome per call, in order for
``parallel_map``, each the one a task per call would give, and no hang (bounded by
``asyncio.wait_for``; from sync code by the test's timeout). The batch's own
cancellation still stops it at once and is not taken for a call's outcome.

Trio (the end of this file): a call that cancels the batch's own nursery, which it
can reach through ``trio.lowlevel``, stopped every worker silently (a list cut short,
``parallel_iter`` waiting forever); the batch now fails with a ``RuntimeError``.

A call that requests its worker's cancellation and returns without awaiting left
the request pending, to fall on the worker's next call, which ended with a
``CancelledError`` (a task per call would have ended the requesting call's own task
instead). Fixed as for ``parallel_iter`` (test_batch_found_stream_swallowed_shutdown):
after each call the worker asks its task whether a request is pending
(``Task.cancelling()``, one call); if so it ends, the call's outcome kept, and the
owner starts a fresh worker for the calls left. In the search as
``cancel_and_return`` (not on 3.10 under a user's task factory, whose tasks count
nothing: the documented limit).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import time
from typing import Any

import anyio
import pytest
import trio
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support_backends import ASYNCIO_BACKENDS, Backend

from synchronaut_batch import parallel_iter, parallel_map
from synchronaut_core import CallAnyTimeout


class Failure(Exception):
    """Raised by call ``index``."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


PER_CALL_TIMEOUT = 0.005

BEHAVIOURS = [
    "return",
    "raise",
    "sleep",
    "sync",
    "cancel_and_raise",
    "cancel_and_swallow",
    "cancel_and_return",
    "cancelled_future",
    "move_on",
    "timeout",
]

#: The behaviours whose outcome is an exception (the batch's failure without
#: ``return_exceptions``).
FAILING = {"raise", "cancel_and_raise", "cancelled_future", "timeout"}


async def behave(index: int, behaviour: str) -> Any:
    """One call of the batch, on an asyncio loop (the caller's or the background one)."""
    if behaviour == "return":
        await asyncio.sleep(0)
        return index
    if behaviour == "raise":
        raise Failure(index)
    if behaviour == "sleep":
        await asyncio.sleep(0.001)
        return index
    if behaviour in ("cancel_and_raise", "cancel_and_swallow"):
        # The call cancels the task that runs it: its worker.
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            if behaviour == "cancel_and_raise":
                raise
            return "swallowed"
        return "not cancelled"
    if behaviour == "cancel_and_return":
        # The call asks to cancel its worker and returns without awaiting: the request
        # is left pending on the task, where a task of its own would have ended with it.
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        return "returned"
    if behaviour == "cancelled_future":
        future = asyncio.get_running_loop().create_future()
        future.cancel()
        return await future  # the call's own CancelledError
    if behaviour == "move_on":
        with anyio.move_on_after(0.001):
            await asyncio.sleep(10)
        return "moved on"
    assert behaviour == "timeout"
    await asyncio.sleep(10)  # given PER_CALL_TIMEOUT
    return "not timed out"


def sync_call(index: int, behaviour: str) -> int:
    return index


def build(batch: list[str]) -> list[Any]:
    return [
        (
            sync_call if behaviour == "sync" else behave,
            (index, behaviour),
            {},
            PER_CALL_TIMEOUT if behaviour == "timeout" else None,
        )
        for index, behaviour in enumerate(batch)
    ]


def check_outcome(index: int, behaviour: str, outcome: Any) -> None:
    """The outcome a task per call (``asyncio.gather``) would give."""
    if behaviour in ("return", "sleep", "sync"):
        assert outcome == index
    elif behaviour == "raise":
        assert isinstance(outcome, Failure)
        assert outcome.index == index
    elif behaviour in ("cancel_and_raise", "cancelled_future"):
        assert isinstance(outcome, asyncio.CancelledError)
    elif behaviour == "cancel_and_swallow":
        assert outcome == "swallowed"
    elif behaviour == "cancel_and_return":
        assert outcome == "returned"
    elif behaviour == "move_on":
        assert outcome == "moved on"
    else:
        assert isinstance(outcome, CallAnyTimeout)


def check_failure(batch: list[str], error: BaseException) -> None:
    """Without ``return_exceptions``: the error is one of the failing calls'."""
    if isinstance(error, Failure):
        assert batch[error.index] == "raise"
    elif isinstance(error, CallAnyTimeout):
        assert "timeout" in batch
    else:
        assert isinstance(error, (asyncio.CancelledError, concurrent.futures.CancelledError))
        assert {"cancel_and_raise", "cancelled_future"} & set(batch)


MODES = ["sync", *ASYNCIO_BACKENDS]

batches = st.lists(st.sampled_from(BEHAVIOURS), max_size=10)
limits = st.sampled_from([1, 2, 3, None])
forms = st.sampled_from(["list", "iterator"])

SEARCH = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

#: Far beyond any batch here (a few ms): past it, the batch hangs.
BOUND = 10


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Sync code (the batch runs on synchronaut's background loop) or an asyncio backend."""
    if request.param == "uvloop":
        pytest.importorskip("uvloop")
    return str(request.param)


def plain_task(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    return asyncio.Task(coro, loop=loop, **kwargs)  # uvloop passes context=


def uncounted(batch: list[str], mode: str, factory: bool) -> bool:
    """A request left pending that no worker can see: 3.10, a task factory of the user's.

    Its tasks count no request to cancel them (no ``Task.cancelling`` on 3.10), so a
    call that requests its worker's cancellation and returns leaves it to the worker's
    next call (a documented limit: test_batch_found_worker_cancel_count).
    """
    return (
        sys.version_info < (3, 11)
        and factory
        and mode not in ("sync", "asyncio+eager")
        and "cancel_and_return" in batch
    )


def use_factory(mode: str, factory: bool) -> None:
    # A user's task factory (tracing, instrumentation): the workers are plain tasks
    # (on 3.10 they then count no request to cancel them). The eager backend has one.
    if factory and mode != "asyncio+eager":
        asyncio.get_running_loop().set_task_factory(plain_task)


def run_map(
    mode: str, calls: Any, return_exceptions: bool, limit: int | None, factory: bool
) -> Any:
    if mode == "sync":
        return parallel_map(calls, return_exceptions=return_exceptions, max_concurrency=limit)

    async def main() -> Any:
        use_factory(mode, factory)
        return await asyncio.wait_for(
            parallel_map(calls, return_exceptions=return_exceptions, max_concurrency=limit),
            BOUND,
        )

    return Backend(mode).run(main)


def run_iter(
    mode: str, calls: list[Any], limit: int | None, factory: bool
) -> list[tuple[int, Any]]:
    if mode == "sync":
        return list(parallel_iter(calls, max_concurrency=limit))

    async def collect() -> list[tuple[int, Any]]:
        async with parallel_iter(calls, max_concurrency=limit) as outcomes:
            return [item async for item in outcomes]

    async def main() -> list[tuple[int, Any]]:
        use_factory(mode, factory)
        return await asyncio.wait_for(collect(), BOUND)

    return Backend(mode).run(main)


@pytest.mark.timeout(300)
@SEARCH
@given(batch=batches, limit=limits, form=forms, factory=st.booleans())
def test_parallel_map_gives_every_call_its_outcome_in_order(
    mode: str, batch: list[str], limit: int | None, form: str, factory: bool
) -> None:
    assume(not uncounted(batch, mode, factory))
    calls = build(batch)
    results = run_map(mode, calls if form == "list" else iter(calls), True, limit, factory)
    assert len(results) == len(batch)
    for index, (behaviour, outcome) in enumerate(zip(batch, results, strict=True)):
        check_outcome(index, behaviour, outcome)


@pytest.mark.timeout(300)
@SEARCH
@given(batch=batches, limit=limits, factory=st.booleans())
def test_parallel_map_without_return_exceptions_fails_with_a_calls_failure(
    mode: str, batch: list[str], limit: int | None, factory: bool
) -> None:
    assume(not uncounted(batch, mode, factory))
    try:
        results = run_map(mode, build(batch), False, limit, factory)
    except (
        Failure,
        CallAnyTimeout,
        asyncio.CancelledError,
        concurrent.futures.CancelledError,
    ) as exc:
        check_failure(batch, exc)
    else:
        assert not FAILING & set(batch)
        for index, (behaviour, outcome) in enumerate(zip(batch, results, strict=True)):
            check_outcome(index, behaviour, outcome)


@pytest.mark.timeout(300)
@SEARCH
@given(batch=batches, limit=limits, factory=st.booleans())
def test_parallel_iter_yields_every_call_once_with_its_outcome(
    mode: str, batch: list[str], limit: int | None, factory: bool
) -> None:
    assume(not uncounted(batch, mode, factory))
    items = run_iter(mode, build(batch), limit, factory)
    assert sorted(index for index, _ in items) == list(range(len(batch)))
    for index, outcome in items:
        check_outcome(index, batch[index], outcome)


# --- the batch's own cancellation is still the batch's ---------------------------


def self_cancelling_batch(started: list[int]) -> list[Any]:
    async def call(index: int) -> Any:
        started.append(index)
        if index % 2:
            return await behave(index, "cancel_and_raise")
        await asyncio.sleep(10)  # still running when the caller gives up

    return [(call, (index,), {}, None) for index in range(8)]


@pytest.mark.parametrize("limit", [1, 2, None])
def test_the_callers_cancellation_stops_the_batch_at_once(
    asyncio_backend: Backend, limit: int | None
) -> None:
    # The awaiting task is cancelled (wait_for's timeout) while workers keep being
    # lost to calls that cancel themselves: the batch ends at once, no worker is left
    # and no fresh one started after it.
    started: list[int] = []

    async def main() -> tuple[float, set[asyncio.Task[Any]], list[int]]:
        begin = time.monotonic()
        with pytest.raises((asyncio.TimeoutError, TimeoutError)):
            await asyncio.wait_for(
                parallel_map(
                    self_cancelling_batch(started), return_exceptions=True, max_concurrency=limit
                ),
                0.05,
            )
        elapsed = time.monotonic() - begin
        seen = list(started)
        await asyncio.sleep(0.02)  # a worker started late would start a call now
        assert started == seen
        return elapsed, asyncio.all_tasks() - {asyncio.current_task()}, seen

    elapsed, left, _ = asyncio_backend.run(main)
    assert elapsed < 2
    assert not left


@pytest.mark.parametrize("limit", [1, 2, None])
def test_the_consumers_cancellation_stops_parallel_iter_at_once(
    asyncio_backend: Backend, limit: int | None
) -> None:
    started: list[int] = []

    async def consume() -> None:
        async with parallel_iter(self_cancelling_batch(started), max_concurrency=limit) as it:
            async for _ in it:
                pass

    async def main() -> set[asyncio.Task[Any]]:
        with pytest.raises((asyncio.TimeoutError, TimeoutError)):
            await asyncio.wait_for(consume(), 0.05)
        seen = list(started)
        await asyncio.sleep(0.02)
        assert started == seen
        return asyncio.all_tasks() - {asyncio.current_task()}

    assert not asyncio_backend.run(main)


KEPT: list[Any] = []


def test_the_end_of_asyncio_run_starts_no_fresh_worker() -> None:
    # An iterator left open at the end of asyncio.run: its worker is cancelled along
    # with every task, with no sign that it is the batch's cancellation (the iterator
    # was not closed). It ends and queues its call's outcome; nobody reads it, so no
    # worker starts during the shutdown (the debug loop reports a task destroyed
    # pending, or any error, through its handler).
    started: list[int] = []
    errors: list[dict[str, Any]] = []

    async def call(index: int) -> int:
        started.append(index)
        await asyncio.sleep(0 if index == 0 else 10)
        return index

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
        outcomes = parallel_iter([(call, (i,), {}, None) for i in range(4)], max_concurrency=1)
        KEPT.append(outcomes)  # not dropped: nothing closes it
        assert await outcomes.__anext__() == (0, 0)
        await asyncio.sleep(0.01)  # the second call is running

    try:
        asyncio.run(main(), debug=True)
        assert started == [0, 1]
    finally:
        KEPT.clear()
    assert not errors


@pytest.mark.timeout(30)
def test_a_worker_cancelled_before_it_ran_gives_its_call_a_cancelled_error(
    asyncio_backend: Backend,
) -> None:
    # The first call cancels every other task but the caller's, before their first
    # step: the workers of the calls after it (unbounded: all made at once). In
    # parallel_map each worker is handed its first call as it is made: each of those
    # calls ends with a CancelledError, as tasks per call cancelled before they
    # started would. parallel_iter's workers take their calls as they run, so such a
    # worker held none: its CancelledError goes to the next call nobody has started
    # (the first worker may have taken call 1 meanwhile). Either way none is lost.
    if asyncio_backend.name == "asyncio+eager":
        pytest.skip("eager workers run their first step as they are made")

    def batch(caller: asyncio.Task[Any]) -> list[Any]:
        async def cancels_the_others(index: int) -> int:
            for task in asyncio.all_tasks():
                if task is not caller and task is not asyncio.current_task():
                    task.cancel()
            await asyncio.sleep(0)
            return index

        async def call(index: int) -> int:
            await asyncio.sleep(0)
            return index

        return [(cancels_the_others, (0,), {}, None)] + [
            (call, (index,), {}, None) for index in range(1, 6)
        ]

    async def main() -> tuple[list[Any], list[tuple[int, Any]]]:
        # Not bounded by wait_for, whose task would be cancelled too: the test's timeout.
        caller = asyncio.current_task()
        assert caller is not None
        results = await parallel_map(batch(caller), return_exceptions=True)
        items = [item async for item in parallel_iter(batch(caller))]
        return results, sorted(items, key=lambda item: item[0])

    results, items = asyncio_backend.run(main)
    assert results[0] == 0
    assert len(results) == 6
    assert all(isinstance(outcome, asyncio.CancelledError) for outcome in results[1:])
    assert [index for index, _ in items] == list(range(6))
    assert items[0] == (0, 0)
    for index, outcome in items[1:]:
        assert outcome == index or isinstance(outcome, asyncio.CancelledError)
    assert sum(isinstance(outcome, asyncio.CancelledError) for _, outcome in items) >= 4


def test_a_call_that_cancels_its_worker_and_returns_keeps_it_to_itself(
    asyncio_backend: Backend,
) -> None:
    async def cancels_and_returns(index: int) -> str:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        return "returned"

    async def call(index: int) -> int:
        await asyncio.sleep(0)
        return index

    async def main() -> list[Any]:
        batch = [(cancels_and_returns, (0,), {}, None), (call, (1,), {}, None)]
        return await asyncio.wait_for(
            parallel_map(batch, return_exceptions=True, max_concurrency=1), 5
        )

    results = asyncio_backend.run(main)
    assert len(results) == 2  # holds already: nothing is lost
    assert results[1] == 1  # the next call runs as if on a task of its own


# --- Trio: a call that cancels the batch's own nursery -----------------------------
#
# Found by the same review: under Trio a call's Cancelled always belongs to an
# enclosing scope, and the only one between a call and the caller's is the batch's
# nursery, which a call can reach (trio.lowlevel.current_task().parent_nursery).
# Cancelling it ended every worker; the nursery caught its own Cancelled, so
# parallel_map returned [None] for six calls and parallel_iter waited forever. No
# call's outcome can be a Cancelled (it is its scope's), so the batch now fails
# with a RuntimeError, as with a failure; the caller's own cancellation comes first.


async def trio_ok(index: int) -> int:
    await trio.lowlevel.checkpoint()
    return index


async def cancels_the_batch_nursery(index: int) -> int:
    nursery = trio.lowlevel.current_task().parent_nursery
    assert nursery is not None
    nursery.cancel_scope.cancel()
    await trio.lowlevel.checkpoint()
    return index


def trio_batch(first: Any, *args: Any) -> list[Any]:
    return [(first, (0, *args), {}, None)] + [(trio_ok, (i,), {}, None) for i in range(1, 6)]


@pytest.mark.parametrize("limit", [1, 3, None])
def test_trio_a_call_cancelling_the_batch_nursery_fails_the_batch(limit: int | None) -> None:
    async def main() -> None:
        with trio.fail_after(5):
            with pytest.raises(RuntimeError, match="cancelled the batch's own nursery"):
                await parallel_map(
                    trio_batch(cancels_the_batch_nursery),
                    return_exceptions=True,
                    max_concurrency=limit,
                )
            with pytest.raises(RuntimeError, match="cancelled the batch's own nursery"):
                await consume()

    async def consume() -> None:
        async with parallel_iter(
            trio_batch(cancels_the_batch_nursery), max_concurrency=limit
        ) as outcomes:
            async for _ in outcomes:
                pass

    trio.run(main)


def test_trio_a_call_cancelling_the_callers_scope_cancels_the_batch() -> None:
    # The caller handed its scope to a call: cancelling it is the caller's own
    # cancellation of the batch, and stays one (not the RuntimeError above).
    async def cancels(index: int, scope: trio.CancelScope) -> int:
        scope.cancel()
        await trio.lowlevel.checkpoint()
        return index

    async def main() -> bool:
        with trio.CancelScope() as scope:
            await parallel_map(trio_batch(cancels, scope), max_concurrency=1)
            raise AssertionError("not cancelled")
        return scope.cancelled_caught

    assert trio.run(main)
