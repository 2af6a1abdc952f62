"""Nested calls of any depth complete: no thread ever waits on a thread that waits on it.

Regression tests for the nesting defects of the "No hang, no lost job" issue: two
levels of blocking calls, sync/async chains deeper than the pool, ``shutdown()`` from
code the background loop waits for, and a timeout on a blocking call made on the
background loop's own thread. ``test_core_call_trees.py`` searches random trees.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from support_threads import in_thread

from synchronaut_core import (
    CallAnyTimeout,
    WorkerPool,
    call_any,
    call_sync,
    get_default_executor,
    set_default_executor,
    shutdown,
)

pytestmark = pytest.mark.usefixtures("fast_switching")


async def inner() -> int:
    await asyncio.sleep(0)
    return 1


async def middle() -> int:
    return call_sync(inner) + 1


async def outer() -> int:
    return call_sync(middle) + 1


def test_two_levels_of_blocking_calls_from_sync_code_complete(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="synchronaut"):
        assert in_thread(lambda: call_sync(outer)) == 3
    assert "temporary loop" in caplog.text


def test_two_nested_blocking_calls_from_a_users_loop_complete(asyncio_backend) -> None:
    async def main() -> int:
        return call_sync(outer)

    assert in_thread(lambda: asyncio_backend.run(main)) == 3


def test_two_nested_blocking_calls_from_trio_complete() -> None:
    import trio

    async def main() -> int:
        return call_sync(outer)

    assert in_thread(lambda: trio.run(main)) == 3


def down_sync(n: int) -> int:
    if n <= 0:
        return 0
    return call_any(down_async, n - 1) + 1


async def down_async(n: int) -> int:
    if n <= 0:
        return 0
    return await call_any(down_sync, n - 1) + 1


def down_sync_sensitive(n: int) -> int:
    if n <= 0:
        return 0
    return call_any(down_async_sensitive, n - 1) + 1


async def down_async_sensitive(n: int) -> int:
    if n <= 0:
        return 0
    return await call_any(down_sync_sensitive, n - 1, thread_sensitive=True) + 1


@pytest.mark.parametrize("depth", [14, 30])
@pytest.mark.parametrize("sensitive", [False, True], ids=["pool", "thread_sensitive"])
def test_sync_async_chains_deeper_than_the_pool_complete(depth, sensitive) -> None:
    start = down_sync_sensitive if sensitive else down_sync
    assert depth > get_default_executor().max_workers  # type: ignore[attr-defined]
    assert in_thread(lambda: start(depth)) == depth
    # And the bridge still serves afterwards, from a fresh loop.

    async def offload_once() -> int:
        return await call_any(lambda: 1)

    assert in_thread(lambda: asyncio.run(offload_once())) == 1


@pytest.mark.parametrize("depth", [14, 30])
def test_chains_deeper_than_the_pool_complete_from_each_backend(backend, depth) -> None:
    async def main() -> int:
        return await call_any(down_async, depth)

    assert in_thread(lambda: backend.run(main)) == depth


def test_chains_far_deeper_than_a_tiny_pool_complete_and_the_pool_comes_back() -> None:
    pool = WorkerPool(1, idle_timeout=0.05)
    set_default_executor(pool)
    try:
        assert in_thread(lambda: down_sync(24)) == 24
        # Only the nested work went past the limit; once done, it idles out.
        deadline = time.monotonic() + 5
        while pool._snapshot().workers > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pool._snapshot().workers <= 1
    finally:
        set_default_executor(None)
        pool.shutdown()


def test_a_backlog_of_unrelated_calls_does_not_grow_the_pool() -> None:
    # Only work nested in a blocked worker may pass the limit: 200 calls that each
    # block on async code are served by max_workers threads, never more.
    pool = WorkerPool(3, "bounded-pool", idle_timeout=None)
    set_default_executor(pool)
    peak = 0

    async def io() -> int:
        await asyncio.sleep(0.001)
        return 1

    def blocks_on_async() -> int:
        nonlocal peak
        peak = max(peak, sum(t.name.startswith("bounded-pool") for t in threading.enumerate()))
        return call_any(io)

    async def main() -> int:
        results = await asyncio.gather(*(call_any(blocks_on_async) for _ in range(200)))
        return sum(results)

    try:
        assert in_thread(lambda: asyncio.run(main())) == 200
        assert peak <= 3
    finally:
        set_default_executor(None)
        pool.shutdown()


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_shutdown_from_a_coroutine_on_the_temporary_loop_returns(timeout) -> None:
    async def stops_everything() -> str:
        shutdown(timeout=timeout)
        return "stopped"

    async def on_the_background_loop() -> str:
        return call_sync(stops_everything)  # runs on a temporary loop

    started = time.monotonic()
    # The background loop was stopped while its coroutine waited: the call either
    # returns or fails clearly, and promptly.
    try:
        outcome = in_thread(lambda: call_sync(on_the_background_loop), bound=20)
    except RuntimeError as exc:
        outcome = str(exc)
    assert time.monotonic() - started < 3
    assert outcome == "stopped" or "shut down" in outcome
    assert call_any(inner) == 1  # a fresh background loop serves


def test_a_timeout_on_a_blocking_call_made_on_the_background_loop_is_enforced() -> None:
    release = threading.Event()

    async def blocks_its_loop() -> None:
        release.wait(15)  # blocks the temporary loop's thread itself

    async def on_the_background_loop() -> float:
        started = time.monotonic()
        with pytest.raises(CallAnyTimeout):
            call_sync(blocks_its_loop, timeout=0.5)
        return time.monotonic() - started

    try:
        waited = in_thread(lambda: call_sync(on_the_background_loop))
    finally:
        release.set()
    assert 0.5 <= waited < 3  # was 15 s: the spare loop's thread was joined
