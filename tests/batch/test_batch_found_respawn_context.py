"""A fresh ``parallel_iter`` worker runs its calls from the iteration's starting context.

Found by review of ef0af66 (asyncio, async and sync consumers): a worker that ended
with its call (the call cancelled its own task) is replaced by a fresh one, which the
consumer asks for when it reads that call's outcome (``_Lost.resume``, through
``loop.call_soon_threadsafe``). The loop runs that callback in the context it was
called from -- the consumer's ContextVars as they are *then*, or for a sync consumer
its own thread's -- and the fresh worker copied that context: every call it ran saw
what the consumer had set since the iteration started (``'consumer changed after
0'``), against the documented rule that each call starts from the consumer's
ContextVars as they were when the iteration started, as the calls of the first
workers do.

Fixed in ``_asyncio.AsyncioStream``: ``start`` keeps a snapshot of the context the
first workers are made in, and a fresh worker is made in (a copy of) it.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest
from support_backends import Backend

from synchronaut_batch import parallel_iter

var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

COUNT = 5


async def call(index: int) -> str:
    if index == 1:
        # Lost after the consumer has read call 0's outcome and changed its context.
        await asyncio.sleep(0.005)
        task = asyncio.current_task()
        assert task is not None
        task.cancel()  # the call cancels its own worker, which ends with it
        await asyncio.sleep(0)
    await asyncio.sleep(0 if index == 0 else 0.01)
    return var.get()


def batch() -> list[Any]:
    return [(call, (index,), {}, None) for index in range(COUNT)]


def check(items: list[tuple[int, Any]]) -> None:
    assert sorted(index for index, _ in items) == list(range(COUNT))
    for index, outcome in items:
        if index == 1:
            assert isinstance(outcome, asyncio.CancelledError)
        else:
            assert outcome == "at start", (index, outcome)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("limit", [1, 2])
def test_async_consumer_fresh_worker_sees_the_starting_context(
    asyncio_backend: Backend, limit: int
) -> None:
    async def main() -> list[tuple[int, Any]]:
        var.set("at start")
        items: list[tuple[int, Any]] = []
        async with parallel_iter(batch(), max_concurrency=limit) as outcomes:
            async for item in outcomes:
                items.append(item)
                var.set(f"consumer changed after {item[0]}")
        return items

    check(asyncio_backend.run(main))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("limit", [1, 2])
def test_sync_consumer_fresh_worker_sees_the_starting_context(limit: int) -> None:
    def main() -> list[tuple[int, Any]]:
        var.set("at start")
        items: list[tuple[int, Any]] = []
        for item in parallel_iter(batch(), max_concurrency=limit):
            items.append(item)
            var.set(f"consumer changed after {item[0]}")
        return items

    check(contextvars.copy_context().run(main))
