"""A ``parallel_iter`` call that swallows the end of ``asyncio.run`` starts no further call.

Found by review of ef0af66 (pre-existing, asyncio): ``asyncio.run`` ends by
cancelling every task at once, a stream's workers included, without closing an
iteration left open. A call that swallowed that cancellation (cleanup code that
catches ``CancelledError`` and returns) ended normally, and its worker took the
next call and started it during the shutdown, which waited for it -- forever for a
call awaiting an event nobody would set (with a task per call, that call's task
would have been cancelled with the others). ``parallel_map`` was not affected: its
owner, cancelled too, stops its workers taking calls.

Fixed in ``_asyncio.AsyncioStream._work``: a call that ends normally while a request
to cancel its worker is pending (``Task.cancelling()``; 3.10's ``_Worker``) ends the
worker, whose outcome goes to the consumer as a lost call's does (``_Lost``): the
consumer, not cancelled, starts a fresh worker; cancelled (the shutdown), it never
reads it. A call that cancels its own worker and swallows it still gets its outcome
and every other call still runs (test_batch_found_lost_worker). The same check ends a
worker whose call requested its cancellation and returned without awaiting: the
request no longer falls on the next call (the last test; ``parallel_map``'s workers
check the same way now: test_batch_found_lost_worker).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from support_backends import Backend

from synchronaut_batch import parallel_iter

KEPT: list[Any] = []


@pytest.mark.timeout(30)
@pytest.mark.parametrize("limit", [1, 2])
def test_a_swallowed_shutdown_starts_no_further_call(limit: int) -> None:
    started: list[int] = []

    async def call(index: int) -> str:
        started.append(index)
        if index < limit:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                return "swallowed"  # the end of asyncio.run, eaten
        await asyncio.sleep(2)  # past the bound below: no such call may start
        return "ran during the shutdown"

    async def main() -> None:
        outcomes = parallel_iter([(call, (i,), {}, None) for i in range(4)], max_concurrency=limit)
        KEPT.append(outcomes)  # not dropped, not closed: only the shutdown stops it
        KEPT.append(asyncio.ensure_future(outcomes.__anext__()))
        await asyncio.sleep(0.01)  # the first calls are running

    begin = time.monotonic()
    try:
        asyncio.run(main())
    finally:
        KEPT.clear()
    assert started == list(range(limit))
    assert time.monotonic() - begin < 1.5


@pytest.mark.timeout(30)
def test_parallel_iter_a_call_that_cancels_its_worker_and_returns_keeps_it_to_itself(
    asyncio_backend: Backend,
) -> None:
    # The same check ends a worker whose call made a request to cancel it and returned
    # without awaiting: the request no longer falls on the worker's next call (as in
    # parallel_map: test_batch_found_lost_worker).
    async def cancels_and_returns(index: int) -> str:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        return "returned"

    async def call(index: int) -> int:
        await asyncio.sleep(0)
        return index

    async def main() -> list[tuple[int, Any]]:
        batch: list[Any] = [(cancels_and_returns, (0,), {}, None), (call, (1,), {}, None)]
        async with parallel_iter(batch, max_concurrency=1) as outcomes:
            return [item async for item in outcomes]

    assert asyncio_backend.run(main) == [(0, "returned"), (1, 1)]
