"""Fixtures for the synchronaut_ctx tests: run an async test body on asyncio, asyncio with
uvloop, or Trio, with small backend-neutral helpers (checkpoint, event, concurrent start)."""

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
        return f"Backend({self.name!r})"

    def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        if self.name == "trio":
            return trio.run(fn)
        if self.name == "asyncio":
            return asyncio.run(_as_coroutine(fn))
        uvloop = pytest.importorskip("uvloop")  # not available on Windows

        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(_as_coroutine(fn))
        loop = uvloop.new_event_loop()
        try:
            return loop.run_until_complete(_as_coroutine(fn))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

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


async def _as_coroutine(fn: Callable[[], Awaitable[T]]) -> T:
    return await fn()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    return Backend(request.param)


@pytest.fixture
def run(backend: Backend) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    return backend.run


@pytest.fixture
def backend_factory() -> Callable[[str], Backend]:
    """For tests that only apply to some backends: ``backend_factory("uvloop")``."""
    return Backend
