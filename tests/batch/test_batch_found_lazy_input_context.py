"""A lazily read input of ``parallel_map`` runs in a context of its own, not a worker's.

Found by review of 8518b9c (each call in a copy of its own context): in async code a
generator of calls is read by whichever worker is free, inside that worker's step,
so in that worker's context. A call awaited directly runs in its worker's context
too, so once a call had set a ContextVar, the generator read the call's value (a
request id, a transaction) for every entry that worker read after it -- bounded
batches and every Trio batch; unbounded asyncio batches too once a worker reads --
and what the generator set itself landed in that worker's context, seen by the
calls the worker ran next (or, read by the batch's owner, in the caller's).

Fixed in ``_pending``: the iterator is read in a copy of the caller's context of its
own, taken when ``parallel_map`` is called. It sees the caller's values and its own
changes, never a call's; its changes reach neither the calls nor the caller.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any

import pytest
from batch_helpers import checkpoint

from synchronaut_batch import parallel_map

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")
OWN: contextvars.ContextVar[int] = contextvars.ContextVar("OWN", default=0)

COUNT = 40

LIMITS = [
    pytest.param(None, id="unbounded"),
    pytest.param(1, id="limit1"),
    pytest.param(3, id="limit3"),
]


async def sets_quickly(i: int) -> str:
    seen = VAR.get()
    VAR.set(f"call {i}")
    return seen


async def sets_and_waits(i: int) -> str:
    seen = VAR.get()
    VAR.set(f"call {i}")
    await checkpoint()
    return seen


@pytest.mark.parametrize("limit", LIMITS)
@pytest.mark.parametrize("func", [sets_quickly, sets_and_waits], ids=["quick", "waits"])
def test_the_iterator_never_sees_what_a_call_set(run: Any, limit: int | None, func: Any) -> None:
    read_by_iterator: list[str] = []

    def calls() -> Iterator[Any]:
        for i in range(COUNT):
            read_by_iterator.append(VAR.get())
            yield (func, (i,), {}, None)

    async def main() -> tuple[list[str], str]:
        VAR.set("caller")
        results = await parallel_map(calls(), max_concurrency=limit)
        return results, VAR.get()

    results, after = contextvars.copy_context().run(run, main)
    assert results == ["caller"] * COUNT
    assert after == "caller"
    assert read_by_iterator == ["caller"] * COUNT


async def reads_own() -> int:
    await checkpoint()
    return OWN.get()


@pytest.mark.parametrize("limit", LIMITS)
def test_what_the_iterator_sets_stays_its_own(run: Any, limit: int | None) -> None:
    # The iterator counts in a ContextVar: it keeps counting across its reads (one
    # context for the whole batch), and neither the calls nor the caller see it.
    counted: list[int] = []

    def calls() -> Iterator[Any]:
        for _ in range(COUNT):
            OWN.set(OWN.get() + 1)
            counted.append(OWN.get())
            yield (reads_own, (), {}, None)

    async def main() -> tuple[list[int], int]:
        OWN.set(0)
        results = await parallel_map(calls(), max_concurrency=limit)
        return results, OWN.get()

    results, after = contextvars.copy_context().run(run, main)
    assert counted == list(range(1, COUNT + 1))
    assert results == [0] * COUNT
    assert after == 0
