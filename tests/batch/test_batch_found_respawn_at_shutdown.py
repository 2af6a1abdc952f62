"""No fresh ``parallel_iter`` worker is started after ``asyncio.run`` listed its tasks.

Found by review of ef0af66 (asyncio): a worker that ended with its call (the call
cancelled its own task) is replaced when the consumer reads that call's outcome --
the consumer being cancelled (the end of ``asyncio.run``) never reads it, so no
worker starts during a shutdown. But the fresh worker was made later, by a loop
callback (``call_soon_threadsafe``, for sync consumers' sake): a consumer that read
the outcome in the loop's last round before ``asyncio.run``'s end had the callback
run after ``asyncio.run`` had listed the tasks to cancel. The fresh worker, never
cancelled, started the next calls during the shutdown, and was destroyed pending
when the loop closed ("Task was destroyed but it is pending!", then its coroutine,
closed by the garbage collector, failed in ``_cancel_now``: no running event loop).
In a search of 150 random shutdowns, 10 did.

Fixed: the consumer's own task makes the fresh worker as it takes the outcome
(``BatchIterator.__anext__``; for a sync consumer ``_iter._ready_batches``, on the
loop), so the worker is one of the loop's tasks at once and is cancelled with them.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from synchronaut_batch import parallel_iter

KEPT: list[Any] = []


def shut_down_after(rounds: int) -> tuple[list[str], list[int]]:
    """``asyncio.run`` whose main ends ``rounds`` loop rounds into an iteration that a
    task consumes and nobody closes; call 0 cancels its own worker at once."""
    errors: list[str] = []
    finished_late: list[int] = []
    ended = [False]

    async def call(index: int) -> int:
        if index == 0:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        if ended[0]:
            finished_late.append(index)  # ran on, uncancelled, after main returned
        return index

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: errors.append(str(context["message"])))
        outcomes = parallel_iter([(call, (i,), {}, None) for i in range(4)], max_concurrency=1)

        async def consume() -> None:
            async for _ in outcomes:
                pass

        KEPT.append(outcomes)  # not dropped, not closed: only the shutdown stops it
        KEPT.append(asyncio.ensure_future(consume()))
        for _ in range(rounds):
            await asyncio.sleep(0)
        ended[0] = True

    try:
        asyncio.run(main(), debug=True)
    finally:
        KEPT.clear()
        gc.collect()
    return errors, finished_late


@pytest.mark.timeout(60)
def test_the_end_of_asyncio_run_cancels_every_fresh_worker() -> None:
    # Each number of rounds ends main at another point of the iteration; the fresh
    # worker's call sleeps 50 ms, past which no call may run on after main returned.
    for rounds in range(40):
        errors, finished_late = shut_down_after(rounds)
        assert not errors, (rounds, errors)
        assert not finished_late, (rounds, finished_late)
