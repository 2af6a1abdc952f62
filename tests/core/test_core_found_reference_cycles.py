"""No call leaves reference cycles behind: every object a call makes is freed when it ends.

Found while profiling the thread fan-in benchmark (32 threads calling ``call_any(af,
x)``): the cycle collector ran all the time. Each sync -> async call left six objects
that only it could free -- the ``_LoopCall``, its two contexts (which name the call as
``_sensitive._target``) and what they hold -- and each sync call offloaded from sync
code (``timeout=``, ``force_offload=True``) five: the ``_Job`` and its ``_JobWait``,
linked through ``job.notify``. A collection stops every thread while it runs, so a
busy threaded server paid for it in latency. Both now drop the link once the outcome is
read.

Each case makes calls with the collector off, then counts what ``gc.collect()`` finds
unreachable (``DEBUG_SAVEALL`` keeps it for the message). A cycle per call shows as at
least one object per call; a few strays from lazy set-up or another thread do not.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from support_backends import Backend

from synchronaut_batch import call_map, parallel_iter, parallel_map
from synchronaut_core import call_any

CALLS = 60


async def af(x: int) -> int:
    return x


async def af_sleeps(x: int) -> int:
    await asyncio.sleep(0)
    return x


def f(x: int) -> int:
    return x


def f_calls_async(x: int) -> int:
    # A sync function run in a worker thread, calling async code from there: its
    # coroutine goes to the loop that offloaded it (or the background loop).
    return call_any(af, x)


async def af_calls_sensitive(x: int) -> int:
    # Thread-sensitive sync code below a coroutine a sync caller waits for: sent back
    # to the waiting thread's inbox.
    return await call_any(f, x, thread_sensitive=True)


async def agen(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


@contextlib.asynccontextmanager
async def acm(x: int) -> AsyncIterator[int]:
    yield x


def _garbage_per_call(run: Callable[[], Any], calls: int = CALLS) -> tuple[float, Counter[str]]:
    """Unreachable objects found after ``calls`` runs of ``run``, per run (and by type)."""
    run()  # lazy set-up (loops, pools, first-use imports) outside the count
    run()
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(calls):
            run()
        gc.collect()
        kinds = Counter(type(obj).__name__ for obj in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return sum(kinds.values()) / calls, kinds


def _assert_no_cycles(run: Callable[[], Any], what: str) -> None:
    per_call, kinds = _garbage_per_call(run)
    assert per_call < 0.5, (
        f"{what} leaves {per_call:.1f} objects in reference cycles per call: {kinds.most_common(8)}"
    )


SYNC_CALLS: dict[str, Callable[[], Any]] = {
    "call_any(async def)": lambda: call_any(af, 1),
    "call_any(async def) suspending": lambda: call_any(af_sleeps, 1),
    "call_any(async def, timeout)": lambda: call_any(af, 1, timeout=30),
    "call_any(def, timeout)": lambda: call_any(f, 1, timeout=30),
    "call_any(def, force_offload)": lambda: call_any(f, 1, force_offload=True),
    "call_any(def, force_offload) calling async": lambda: call_any(
        f_calls_async, 1, force_offload=True
    ),
    "call_any(async def) calling thread-sensitive": lambda: call_any(af_calls_sensitive, 1),
    "sync iteration of an async generator": lambda: list(call_any(agen, 3)),
    "parallel_map": lambda: parallel_map([(af, (1,), {}, None), (f, (2,), {}, None)]),
    "parallel_map bounded": lambda: parallel_map(
        [(af, (1,), {}, None), (f, (2,), {}, 30)] * 2, max_concurrency=2
    ),
    "call_map": lambda: call_map([af, f], 1),
    "parallel_iter": lambda: list(parallel_iter([(af, (1,), {}, None), (f, (2,), {}, None)])),
}


async def _iterate(calls: Any, **options: Any) -> list[Any]:
    return [outcome async for outcome in parallel_iter(calls, **options)]


@pytest.mark.parametrize("kind", SYNC_CALLS)
def test_sync_calls_leave_no_cycles(kind: str) -> None:
    _assert_no_cycles(SYNC_CALLS[kind], kind)


def test_sync_context_manager_over_async_leaves_no_cycles() -> None:
    from synchronaut_core import sync_cm

    def run() -> None:
        with sync_cm(acm(1)) as value:
            assert value == 1

    _assert_no_cycles(run, "sync_cm(async cm)")


ASYNC_CALLS: dict[str, Callable[[], Any]] = {
    "await call_any(def)": lambda: call_any(f, 1),
    "await call_any(def, timeout)": lambda: call_any(f, 1, timeout=30),
    "await call_any(def, thread_sensitive)": lambda: call_any(f, 1, thread_sensitive=True),
    "await call_any(def) calling async": lambda: call_any(f_calls_async, 1),
    "await call_any(async def)": lambda: call_any(af, 1),
    "await call_any(async def, timeout)": lambda: call_any(af, 1, timeout=30),
    "await parallel_map": lambda: parallel_map([(af, (1,), {}, None), (f, (1,), {}, None)]),
    "await parallel_map bounded": lambda: parallel_map(
        [(af, (1,), {}, None), (f, (1,), {}, 30)] * 2, max_concurrency=2
    ),
    "await call_map": lambda: call_map([af, f], 1),
    "async for parallel_iter": lambda: _iterate([(af, (1,), {}, None), (f, (2,), {}, None)]),
    "async for parallel_iter bounded": lambda: _iterate(
        [(af, (1,), {}, None), (f, (2,), {}, None)] * 2, max_concurrency=2
    ),
}


@pytest.mark.parametrize("kind", ASYNC_CALLS)
def test_async_calls_leave_no_cycles(backend: Backend, kind: str) -> None:
    make = ASYNC_CALLS[kind]

    async def main() -> None:
        # Counted inside one run: a loop or a Trio run leaves garbage of its own when
        # it ends, which is not the calls'.
        await make()
        await make()
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for _ in range(CALLS):
                await make()
            gc.collect()
            kinds = Counter(type(obj).__name__ for obj in gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
        per_call = sum(kinds.values()) / CALLS
        assert per_call < 0.5, (
            f"{kind} on {backend} leaves {per_call:.1f} objects in reference cycles per "
            f"call: {kinds.most_common(8)}"
        )

    backend.run(main)
