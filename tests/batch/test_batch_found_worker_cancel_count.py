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
  Still open for anyio, which calls ``uncancel`` only on 3.11+ (strict xfail).
* Python 3.10 only: with a task factory of the user's on the loop the workers count
  nothing (ac58fba keeps the old behaviour there): the same list cut short, and hang.
* Every version: a call that cancels its own worker (``asyncio.current_task().cancel()``),
  raising or swallowing it, ends that worker quietly while the batch is not
  stopping: ``parallel_map`` returns ``[None]`` for six calls with no error, and
  ``parallel_iter`` waits forever. (A task per call, ``asyncio.gather``, would give
  that call a ``CancelledError`` and run the rest.)

The iterations are bounded by ``asyncio.wait_for`` so that a hang fails, not waits.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import anyio
import pytest
from support_backends import Backend

from synchronaut_batch import parallel_iter, parallel_map

COUNT = 6
ON_310 = sys.version_info < (3, 11)


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


@pytest.mark.xfail(ON_310, strict=True, reason="3.10: anyio's cancel scope leaves the count")
def test_anyio_move_on_after_then_a_calls_own_cancelled_error(asyncio_backend: Backend) -> None:
    check_map_and_iter(asyncio_backend, calls(moves_on))


@pytest.mark.xfail(ON_310, strict=True, reason="3.10: a user's task factory's tasks count nothing")
def test_a_user_task_factory_and_a_calls_own_cancelled_error(asyncio_backend: Backend) -> None:
    if asyncio_backend.name == "asyncio+eager":
        pytest.skip("the eager backend sets a task factory of its own")
    check_map_and_iter(asyncio_backend, calls(ok), factory=True)


@pytest.mark.xfail(strict=True, reason="a worker cancelled by its own call ends quietly")
@pytest.mark.parametrize("first", [cancels_itself, cancels_itself_and_swallows_it])
def test_a_call_that_cancels_its_own_worker_loses_no_result(
    asyncio_backend: Backend, first: Any
) -> None:
    async def main() -> tuple[str, list[int] | str]:
        batch = calls(first)
        try:
            results = await asyncio.wait_for(
                parallel_map(batch, return_exceptions=True, max_concurrency=1), 5
            )
            outcome = f"{len(results)} results"
        except asyncio.CancelledError:
            outcome = "raised"  # acceptable too: no result lost silently

        async def collect() -> list[int]:
            return [i async for i, _ in parallel_iter(batch, max_concurrency=1)]

        try:
            indexes: list[int] | str = sorted(await asyncio.wait_for(collect(), 5))
        except asyncio.CancelledError:
            indexes = "raised"
        return outcome, indexes

    outcome, indexes = asyncio_backend.run(main)
    assert outcome in (f"{COUNT} results", "raised")
    assert indexes in (list(range(COUNT)), "raised")
