"""Inline calls keep nothing: flat memory over 10 000 calls, a bounded greenlet pool."""

from __future__ import annotations

import contextlib
import gc
import tracemalloc
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import greenlet
from support_backends import Backend

from synchronaut_core import call_any


def _greenlets() -> int:
    return sum(1 for obj in gc.get_objects() if isinstance(obj, greenlet.greenlet))


async def _measure(calls: int, step: Callable[[int], Awaitable[Any]]) -> int:
    """Memory growth from the first 10% of the calls to the end (bytes)."""
    for i in range(calls // 10):
        await step(i)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(calls // 10, calls):
            await step(i)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_10000_inline_calls_with_bridge_calls_leave_memory_flat(backend: Backend) -> None:
    async def fetch(x: int) -> int:
        await backend.checkpoint()
        return x

    def service(i: int) -> int:
        return call_any(fetch, i) + 1

    async def step(i: int) -> None:
        assert await call_any(service, i, inline=True) == i + 1

    async def main() -> int:
        return await _measure(10_000, step)

    growth = backend.run(main)
    assert growth < 256 * 1024, growth


def test_failing_and_concurrent_inline_calls_keep_the_greenlet_pool_bounded(
    backend: Backend,
) -> None:
    def failing(i: int) -> None:
        raise ValueError(i)

    async def fetch() -> None:
        await backend.sleep(0.001)

    def waiting() -> None:
        call_any(fetch)

    async def main() -> None:
        for i in range(200):
            with contextlib.suppress(ValueError):
                await call_any(failing, i, inline=True)

        def spawn() -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                await call_any(waiting, inline=True)

            return run

        for _ in range(5):
            await backend.gather([spawn() for _ in range(100)])  # 100 greenlets at once

    before = _greenlets()
    backend.run(main)
    gc.collect()
    # At most the idle pool this thread keeps (32), whatever ran at once.
    assert _greenlets() - before <= 32 + 1


def test_no_reference_to_inline_callees_or_their_arguments_is_kept(backend: Backend) -> None:
    class Payload:
        pass

    refs: list[weakref.ref[Any]] = []

    async def echo(value: Any) -> Any:
        await backend.checkpoint()
        return value

    async def main() -> None:
        for _ in range(3):
            payload = Payload()

            def service(value: Payload) -> Payload:
                return call_any(echo, value)

            assert await call_any(service, payload, inline=True) is payload
            refs.extend([weakref.ref(payload), weakref.ref(service)])
            del payload, service

    backend.run(main)
    gc.collect()
    assert [ref() for ref in refs] == [None] * len(refs)
