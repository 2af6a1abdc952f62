"""The async backends every test runs on, and the primitives a test body needs.

Importable from any test module (pytest puts ``tests/`` on ``sys.path`` for the root
conftest), and from the child processes of a process pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import trio

T = TypeVar("T")

BACKENDS = ["asyncio", "uvloop", "trio"]


class Backend:
    """One async backend: how to run a coroutine function, and the few primitives the
    tests need, so that one test body runs unchanged on every backend."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` to completion on a fresh loop of this backend."""
        if self.name == "trio":
            return trio.run(fn, *args)
        factory = None
        if self.name == "uvloop":
            factory = pytest.importorskip("uvloop").new_event_loop  # not on Windows
        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=factory) as runner:
                return runner.run(_as_coroutine(fn, args))
        loop = (factory or asyncio.new_event_loop)()
        try:
            return loop.run_until_complete(_as_coroutine(fn, args))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def sleep(self, seconds: float) -> None:
        if self.name == "trio":
            await trio.sleep(seconds)
        else:
            await asyncio.sleep(seconds)

    async def sleep_forever(self) -> None:
        await self.sleep(3600)

    async def checkpoint(self) -> None:
        """Yield to the scheduler so that other tasks run."""
        if self.name == "trio":
            await trio.lowlevel.checkpoint()
        else:
            await asyncio.sleep(0)

    def event(self) -> Any:
        """A fresh event of this backend (both kinds have ``set()`` and ``await wait()``)."""
        return trio.Event() if self.name == "trio" else asyncio.Event()

    async def gather(self, fns: list[Callable[[], Awaitable[Any]]]) -> None:
        """Run every function as its own task, concurrently, and wait for all of them."""
        if self.name == "trio":
            async with trio.open_nursery() as nursery:
                for fn in fns:
                    nursery.start_soon(fn)
        else:
            await asyncio.gather(*(asyncio.ensure_future(fn()) for fn in fns))

    async def to_thread(self, fn: Callable[[], T]) -> T:
        """Run a blocking call in a worker thread without blocking the event loop."""
        if self.name == "trio":
            return await trio.to_thread.run_sync(fn)
        return await asyncio.to_thread(fn)

    async def wait_future(self, future: concurrent.futures.Future[T]) -> T:
        """Await a concurrent.futures.Future without blocking the event loop."""
        if self.name == "trio":
            return await trio.to_thread.run_sync(future.result)
        return await asyncio.wrap_future(future)


async def _as_coroutine(fn: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> T:
    return await fn(*args)
