"""A worker's count of cancel requests (3.10's ``_Worker``) and a call that cancels its worker.

Found by review of ac58fba (asyncio, ``max_concurrency=1``; every asyncio backend):

* Python 3.10 only: ``_Worker``'s count only grew, but a timeout inside a call cancels
  the worker and takes the cancellation back -- a per-call timeout of synchronaut
  (the 4th item of a call, ``_await_within`` on 3.10 calls ``task.cancel()``) or
  ``anyio.move_on_after``. On 3.11+ they ``uncancel()``. On 3.10 the count stayed 1,
  so a later call's own ``CancelledError`` on that worker counted as a cancellation:
  the worker ended quietly, ``parallel_map`` returned a list cut short
  (``[CallAnyTimeout, None]`` for six calls) and ``parallel_iter`` waited forever
  (from sync code too). Fixed for synchronaut's timeout: ``_Worker.uncancel()``, which
  the core's 3.10 ``_await_within`` calls once its deadline has cancelled the task.
  Then still open for anyio, which calls ``uncancel`` only on 3.11+.
* Python 3.10 only: with a task factory of the user's on the loop the workers count
  nothing (ac58fba keeps the old behaviour there): the same list cut short, and hang.
* Every version: a call that cancels its own worker (``asyncio.current_task().cancel()``),
  raising or swallowing it, ends that worker quietly while the batch is not
  stopping: ``parallel_map`` returns ``[None]`` for six calls with no error, and
  ``parallel_iter`` waits forever. (A task per call, ``asyncio.gather``, would give
  that call a ``CancelledError`` and run the rest.)

Fixed for all three (and whatever else leaves a worker's count wrong) by no longer
trusting a worker's end to mean its calls are done: a worker that gets a
``CancelledError`` it cannot tell from a cancellation (a request is pending, or its
task counts nothing) while the batch is not stopping ends and hands that call's
outcome, the ``CancelledError``, to the batch's owner (``parallel_map``'s awaiting
task, ``parallel_iter``'s consumer), which records it and starts a fresh worker for
the calls left -- unless the owner is cancelled itself, which makes it the batch's
cancellation. See tests/batch/test_batch_found_lost_worker.py for the search over
every mix of such calls.

The iterations are bounded by ``asyncio.wait_for`` so that a hang fails, not waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest
from support_backends import Backend

from synchronaut_batch import parallel_iter, parallel_map

COUNT = 6


async def ok(i: int) -> int:
    await asyncio.sleep(0)
    return i


async def awaits_a_cancelled_future(i: int) -> int:
    future = asyncio.get_running_loop().create_future()
    future.cancel()
    return await future  # CancelledError: the call's own


async def sleeps_long(i: int) -> None:
    await asyncio.sleep(10)  # given a per-call timeout of 0.01 s


async def moves_on(i: int) -> str:
    with anyio.move_on_after(0.01):
        await asyncio.sleep(10)
    return "moved on"


async def cancels_itself(i: int) -> None:
    task = asyncio.current_task()
    assert task is not None
    task.cancel()
    await asyncio.sleep(0)


async def cancels_itself_and_swallows_it(i: int) -> str:
    task = asyncio.current_task()
    assert task is not None
    task.cancel()
    try:
        await asyncio.sleep(0)
    except asyncio.CancelledError:
        return "swallowed"
    return "not cancelled"


def calls(first: Any, timeout: float | None = None) -> list[Any]:
    made: list[Any] = [(ok, (i,), {}, None) for i in range(COUNT)]
    made[0] = (first, (0,), {}, timeout)
    made[1] = (awaits_a_cancelled_future, (1,), {}, None)
    return made


def plain_task(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    return asyncio.Task(coro, loop=loop, **kwargs)  # uvloop passes context=


def check_map_and_iter(backend: Backend, batch: list[Any], factory: bool = False) -> None:
    # Bounded by one worker: the call after the first runs on the same worker.
    async def main() -> tuple[list[Any], list[int]]:
        if factory:
            # A user's task factory (tracing, instrumentation): plain tasks.
            asyncio.get_running_loop().set_task_factory(plain_task)
        results = await asyncio.wait_for(
            parallel_map(batch, return_exceptions=True, max_concurrency=1), 5
        )

        async def collect() -> list[int]:
            return [i async for i, _ in parallel_iter(batch, max_concurrency=1)]

        return results, sorted(await asyncio.wait_for(collect(), 5))

    results, indexes = backend.run(main)
    assert len(results) == COUNT
    assert isinstance(results[1], asyncio.CancelledError)
    assert results[2:] == [2, 3, 4, 5]
    assert indexes == list(range(COUNT))


def test_a_per_call_timeout_then_a_calls_own_cancelled_error(asyncio_backend: Backend) -> None:
    check_map_and_iter(asyncio_backend, calls(sleeps_long, 0.01))


@pytest.mark.timeout(30)
def test_a_per_call_timeout_then_a_calls_own_cancelled_error_from_sync_code() -> None:
    batch = calls(sleeps_long, 0.01)
    results = parallel_map(batch, return_exceptions=True, max_concurrency=1)
    assert len(results) == COUNT
    assert isinstance(results[1], asyncio.CancelledError)
    assert sorted(i for i, _ in parallel_iter(batch, max_concurrency=1)) == list(range(COUNT))


def test_anyio_move_on_after_then_a_calls_own_cancelled_error(asyncio_backend: Backend) -> None:
    check_map_and_iter(asyncio_backend, calls(moves_on))


def test_a_user_task_factory_and_a_calls_own_cancelled_error(asyncio_backend: Backend) -> None:
    if asyncio_backend.name == "asyncio+eager":
        pytest.skip("the eager backend sets a task factory of its own")
    check_map_and_iter(asyncio_backend, calls(ok), factory=True)


@pytest.mark.parametrize("first", [cancels_itself, cancels_itself_and_swallows_it])
def test_a_call_that_cancels_its_own_worker_loses_no_result(
    asyncio_backend: Backend, first: Any
) -> None:
    # As with a task per call: the call that cancelled its own task ends with that
    # CancelledError -- or, having swallowed it, with what it returned -- and the next
    # call on that worker is not taken for a cancellation of the batch (its own
    # CancelledError is its outcome), nor is any later call lost.
    async def main() -> tuple[list[Any], list[tuple[int, Any]]]:
        batch = calls(first)
        results = await asyncio.wait_for(
            parallel_map(batch, return_exceptions=True, max_concurrency=1), 5
        )

        async def collect() -> list[tuple[int, Any]]:
            return [item async for item in parallel_iter(batch, max_concurrency=1)]

        return results, sorted(await asyncio.wait_for(collect(), 5), key=lambda item: item[0])

    results, items = asyncio_backend.run(main)
    for outcomes in (results, [outcome for _, outcome in items]):
        assert len(outcomes) == COUNT
        if first is cancels_itself:
            assert isinstance(outcomes[0], asyncio.CancelledError)
        else:
            assert outcomes[0] == "swallowed"
        assert isinstance(outcomes[1], asyncio.CancelledError)
        assert outcomes[2:] == [2, 3, 4, 5]
    assert [index for index, _ in items] == list(range(COUNT))
