"""Shared fixtures: every async behaviour is proven on asyncio, asyncio+uvloop and Trio."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is in the dev group
    uvloop = None

BACKENDS = ["asyncio", "uvloop", "trio"]


class Backend:
    """Runs a test's async code on one event loop and gives it that loop's primitives."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def run(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        if self.name == "trio":
            return trio.run(fn, *args)
        factory = None
        if self.name == "uvloop":
            if uvloop is None:
                pytest.skip("uvloop is not installed")
            factory = uvloop.new_event_loop
        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=factory) as runner:
                return runner.run(fn(*args))
        loop = (factory or asyncio.new_event_loop)()
        try:
            return loop.run_until_complete(fn(*args))
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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """One of asyncio, uvloop, trio."""
    return Backend(request.param)


@pytest.fixture(params=["asyncio", "uvloop"])
def asyncio_backend(request: pytest.FixtureRequest) -> Backend:
    """asyncio with its default loop, and with uvloop."""
    return Backend(request.param)
