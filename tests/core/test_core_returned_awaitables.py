"""What happens to the awaitable a ``def`` returns: coroutines run, other awaitables are values.

Issue 14, item 6: aiosqlite's ``db.execute(...)`` is a plain function returning a
``collections.abc.Coroutine`` that is not a native coroutine; ``call_any`` returned
it unrun (and Python later warned it was never awaited). Every coroutine a ``def``
returns -- native or any ``collections.abc.Coroutine`` -- is now run, in every
context and through every entry point, timed out and cancelled like a native one,
and closed if nobody will run it. Futures, tasks and objects that merely have
``__await__`` are handles or values in their own right: they are returned as they
are, never awaited behind the caller's back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Generator
from typing import Any

import pytest
import trio

from synchronaut_core import (
    CallAnyTimeout,
    CallOptions,
    call_any,
    call_async,
    call_sync,
    current_async_library,
    synchronaut,
)


async def nap(seconds: float) -> None:
    if current_async_library() == "trio":
        await trio.sleep(seconds)
    else:
        await asyncio.sleep(seconds)


class ForeignCoroutine(Coroutine[Any, Any, Any]):
    """A coroutine that is not a native one, built like aiosqlite's ``Result``."""

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._coro = coro
        self.closed = threading.Event()

    def send(self, value: Any) -> Any:
        return self._coro.send(value)

    def throw(self, *exc: Any) -> Any:
        return self._coro.throw(*exc)

    def close(self) -> None:
        self.closed.set()
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()


async def answer(value: int = 42) -> int:
    await nap(0)
    return value


def returns_foreign(value: int = 42) -> ForeignCoroutine:
    return ForeignCoroutine(answer(value))


#: Entry points that give the value in plain sync code, as ``(func, options) -> value``.
SYNC_ENTRY_POINTS: dict[str, Callable[[Callable[..., Any], dict[str, Any]], Any]] = {
    "call_any": lambda f, o: call_any(f, **o),
    "call_sync": lambda f, o: call_sync(f, **o),
    "CallOptions()": lambda f, o: CallOptions(**o)(f),
    "CallOptions.sync": lambda f, o: CallOptions(**o).sync(f),
    "synchronaut()": lambda f, o: synchronaut(**o)(f)(),
    "synchronaut.sync": lambda f, o: synchronaut(**o)(f).sync(),
}

OPTION_SETS: list[dict[str, Any]] = [{}, {"timeout": 30}, {"force_offload": True}]


@pytest.mark.parametrize("options", OPTION_SETS, ids=repr)
@pytest.mark.parametrize("entry", list(SYNC_ENTRY_POINTS))
def test_a_foreign_coroutine_returned_in_sync_code_is_run(
    entry: str, options: dict[str, Any]
) -> None:
    # Before: the ForeignCoroutine itself came back, and 'answer' was never awaited.
    assert SYNC_ENTRY_POINTS[entry](returns_foreign, options) == 42


def test_a_foreign_coroutine_returned_in_a_plain_thread_is_run() -> None:
    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(call_any(returns_foreign)))
    thread.start()
    thread.join(30)
    assert results == [42]


def test_a_foreign_coroutine_returned_to_an_async_caller_is_awaited(backend) -> None:
    decorated = synchronaut(returns_foreign)

    async def main() -> list[int]:
        return [
            await call_any(returns_foreign, 1),
            await call_any(returns_foreign, 2, timeout=30),
            await call_async(returns_foreign, 3),
            await decorated(4),
            await decorated.async_(5),
            call_sync(returns_foreign, 6),  # blocking, from the loop
        ]

    assert backend.run(main) == [1, 2, 3, 4, 5, 6]


def test_a_timed_out_foreign_coroutine_is_cancelled() -> None:
    cleaned = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned.set()

    with pytest.raises(CallAnyTimeout, match=r"timed out after 0\.05s"):
        call_sync(lambda: ForeignCoroutine(slow()), timeout=0.05)
    assert cleaned.wait(5)


def test_a_foreign_coroutine_nobody_will_run_is_closed(backend) -> None:
    # The caller times out while the def is still running: the coroutine it returns
    # afterwards has nobody to run it, so it is closed (never "never awaited").
    made: list[ForeignCoroutine] = []

    def late() -> ForeignCoroutine:
        time.sleep(0.3)
        made.append(ForeignCoroutine(answer()))
        return made[0]

    async def main() -> None:
        with pytest.raises(CallAnyTimeout):
            await call_any(late, timeout=0.05)

    backend.run(main)
    for _ in range(100):  # the worker finishes after its caller left
        if made:
            break
        time.sleep(0.05)
    assert made and made[0].closed.wait(5)


# --- other awaitables are values ---------------------------------------------------------


class AwaitOnly:
    """An object that is awaitable and nothing more (a lazy query, say)."""

    def __init__(self) -> None:
        self.awaited = False

    def __await__(self) -> Generator[Any, None, str]:
        self.awaited = True
        yield from nap(0).__await__()
        return "awaited"


@pytest.mark.parametrize("options", OPTION_SETS, ids=repr)
@pytest.mark.parametrize("entry", list(SYNC_ENTRY_POINTS))
def test_other_awaitables_returned_in_sync_code_are_values(
    entry: str, options: dict[str, Any]
) -> None:
    loop = asyncio.new_event_loop()
    try:
        future = loop.create_future()
        assert SYNC_ENTRY_POINTS[entry](lambda: future, options) is future
        assert not future.done()
    finally:
        loop.close()
    lazy = AwaitOnly()
    assert SYNC_ENTRY_POINTS[entry](lambda: lazy, options) is lazy
    assert not lazy.awaited


def test_other_awaitables_returned_to_an_async_caller_are_values(asyncio_backend) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(nap(0))
        future = asyncio.get_running_loop().create_future()
        lazy = AwaitOnly()
        for value in (task, future, lazy):
            assert await call_any(lambda value=value: value) is value
            assert await call_async(lambda value=value: value, timeout=30) is value
        assert not lazy.awaited
        future.cancel()
        await task

    asyncio_backend.run(main)
