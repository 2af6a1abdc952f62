"""A call's own ``CancelledError`` is its outcome, not the end of its worker (asyncio).

Found by review of 8518b9c (pre-existing): a worker re-raised every
``CancelledError`` as the batch's own cancellation, but a call raises one of its own
when it awaits a future or a task that something cancelled (another call, an
executor shut down with ``cancel_futures``). The worker then ended quietly:
``parallel_map`` returned ``None`` in that call's slot -- and, bounded, a list cut
short, the calls that worker would have taken never run (``[0, None]`` for six
calls with ``max_concurrency=1``) -- whatever ``return_exceptions`` said, and
``parallel_iter`` waited for the missing outcomes forever, in async and sync code.

Fixed in ``_asyncio``: a ``CancelledError`` is the batch's cancellation only when
the batch has stopped (a failure, the caller cancelled) or the worker task has a
cancellation request pending (``Task.cancelling()``, Python 3.11+); otherwise it is
the call's outcome, as with a task per call (``asyncio.gather``): in its slot with
``return_exceptions=True``, else the batch's failure, raised; ``parallel_iter``
yields it.

On Python 3.10, which has no ``Task.cancelling()``, the workers are tasks of their
own type that count the requests to cancel them (``_asyncio._Worker``). Before, every
``CancelledError`` counted as a cancellation there: the batch's flags alone cannot
tell a call's own from the one ``asyncio.run`` sends every task at its end -- a worker
taking that for an outcome started its next call, and the shutdown waited for a
``parallel_iter`` nobody closed forever (the last test).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support_backends import Backend

from synchronaut_batch import parallel_iter, parallel_map

COUNT = 6

LIMITS = [
    pytest.param(None, id="unbounded"),
    pytest.param(1, id="limit1"),
    pytest.param(3, id="limit3"),
]


async def ok(i: int) -> int:
    await asyncio.sleep(0)
    return i


async def awaits_a_cancelled_future(i: int) -> int:
    future = asyncio.get_running_loop().create_future()
    future.cancel()
    return await future  # CancelledError: the call's own


def calls_with_one_self_cancelled() -> list[Any]:
    calls: list[Any] = [(ok, (i,), {}, None) for i in range(COUNT)]
    calls[1] = (awaits_a_cancelled_future, (1,), {}, None)
    return calls


@pytest.mark.parametrize("limit", LIMITS)
def test_with_return_exceptions_it_is_returned_in_its_slot(
    asyncio_backend: Backend, limit: int | None
) -> None:
    async def main() -> list[Any]:
        return await asyncio.wait_for(
            parallel_map(
                calls_with_one_self_cancelled(), return_exceptions=True, max_concurrency=limit
            ),
            10,
        )

    results = asyncio_backend.run(main)
    assert len(results) == COUNT
    assert isinstance(results[1], asyncio.CancelledError)
    assert [r for i, r in enumerate(results) if i != 1] == [0, 2, 3, 4, 5]


@pytest.mark.parametrize("limit", LIMITS)
def test_without_return_exceptions_it_fails_the_batch(
    asyncio_backend: Backend, limit: int | None
) -> None:
    async def main() -> str:
        try:
            await asyncio.wait_for(
                parallel_map(calls_with_one_self_cancelled(), max_concurrency=limit), 10
            )
        except asyncio.CancelledError:
            return "raised"
        return "returned"

    assert asyncio_backend.run(main) == "raised"


@pytest.mark.parametrize("limit", LIMITS)
def test_from_sync_code(limit: int | None) -> None:
    results = parallel_map(
        calls_with_one_self_cancelled(), return_exceptions=True, max_concurrency=limit
    )
    assert isinstance(results[1], asyncio.CancelledError)
    assert len(results) == COUNT
    with pytest.raises(asyncio.CancelledError):
        parallel_map(calls_with_one_self_cancelled(), max_concurrency=limit)


@pytest.mark.parametrize("limit", LIMITS)
def test_parallel_iter_yields_it_and_goes_on(asyncio_backend: Backend, limit: int | None) -> None:
    async def collect() -> list[tuple[int, Any]]:
        return [
            item
            async for item in parallel_iter(calls_with_one_self_cancelled(), max_concurrency=limit)
        ]

    async def main() -> list[tuple[int, Any]]:
        return await asyncio.wait_for(collect(), 10)

    items = dict(asyncio_backend.run(main))
    assert sorted(items) == list(range(COUNT))
    assert isinstance(items[1], asyncio.CancelledError)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("limit", LIMITS)
def test_parallel_iter_from_sync_code(limit: int | None) -> None:
    items = dict(parallel_iter(calls_with_one_self_cancelled(), max_concurrency=limit))
    assert sorted(items) == list(range(COUNT))
    assert isinstance(items[1], asyncio.CancelledError)


def test_a_future_another_call_cancels(asyncio_backend: Backend) -> None:
    shared: dict[str, asyncio.Future[int]] = {}

    async def makes_and_cancels() -> str:
        shared["future"] = asyncio.get_running_loop().create_future()
        await asyncio.sleep(0.01)
        shared["future"].cancel()
        return "made"

    async def waits_for_it() -> int:
        while "future" not in shared:
            await asyncio.sleep(0)
        return await shared["future"]

    async def main() -> list[Any]:
        return await asyncio.wait_for(
            parallel_map(
                [(makes_and_cancels, (), {}, None), (waits_for_it, (), {}, None)],
                return_exceptions=True,
                max_concurrency=2,
            ),
            10,
        )

    made, waited = asyncio_backend.run(main)
    assert made == "made"
    assert isinstance(waited, asyncio.CancelledError)


def test_cancelling_the_batch_still_cancels_it(asyncio_backend: Backend) -> None:
    # The batch's own cancellation is still one: every worker ends, the caller gets it.
    started: list[int] = []

    async def waits(i: int) -> None:
        started.append(i)
        await asyncio.Event().wait()

    async def main() -> str:
        batch = asyncio.ensure_future(
            parallel_map([(waits, (i,), {}, None) for i in range(COUNT)], return_exceptions=True)
        )
        while len(started) < COUNT:
            await asyncio.sleep(0)
        batch.cancel()
        try:
            await batch
        except asyncio.CancelledError:
            return "cancelled"
        return "returned"

    assert asyncio_backend.run(main) == "cancelled"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("limit", LIMITS)
def test_asyncio_runs_end_cancels_a_batch_and_an_iteration_left_running(
    limit: int | None,
) -> None:
    # main() returns with a batch and an iteration still running: asyncio.run cancels
    # every task, workers included. Each is a cancellation, not a call's outcome: no
    # worker starts its next call, and the run ends.
    cancelled: list[int] = []

    async def waits(i: int) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(i)
            raise

    async def main() -> None:
        calls: list[Any] = [(waits, (i,), {}, None) for i in range(COUNT)]
        left: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(
                parallel_map(calls, return_exceptions=return_exceptions, max_concurrency=limit)
            )
            for return_exceptions in (False, True)
        ]
        iteration = parallel_iter(calls, max_concurrency=limit)

        async def consume() -> None:
            async for _ in iteration:
                pass

        left.append(asyncio.ensure_future(consume()))
        for _ in range(5):
            await asyncio.sleep(0)

    asyncio.run(main())
    per_batch = COUNT if limit is None else limit
    assert sorted(cancelled) == sorted(list(range(per_batch)) * 3)
