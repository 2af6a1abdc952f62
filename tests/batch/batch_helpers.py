"""Helpers shared by the synchronaut_batch tests (a module, not conftest, so tests and
the child processes of a process pool can import it by name).

``nap``, ``forever``, ``Signal`` and ``Countdown`` pick the running async library when
they are used, so one coroutine function serves every mode, including sync code (where
a batch runs on synchronaut's background loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio
from support_backends import BACKENDS, Backend

from synchronaut_core import current_async_library

T = TypeVar("T")

MODES = ["sync", *BACKENDS]


def run_on(backend: str, fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn()`` to completion on ``backend`` (a fresh loop or ``trio.run``)."""
    return Backend(backend).run(fn)


class Mode:
    """Where a batch is started from: ``sync`` code, or a task of one async backend."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Mode({self.name!r})"

    @property
    def is_async(self) -> bool:
        return self.name != "sync"

    def call(self, start: Callable[[], Any]) -> Any:
        """``start()`` in this mode: its value in sync code, awaited in async code."""
        if self.name == "sync":
            return start()

        async def main() -> Any:
            return await start()

        return run_on(self.name, main)

    def inside(self, fn: Callable[[], T]) -> T:
        """Call ``fn()`` (a sync function) from this mode: in sync code, or in a task."""
        if self.name == "sync":
            return fn()

        async def main() -> T:
            return fn()

        return run_on(self.name, main)


async def nap(seconds: float) -> None:
    """Sleep in whichever async library runs this coroutine."""
    if current_async_library() == "trio":
        await trio.sleep(seconds)
    else:
        await asyncio.sleep(seconds)


async def checkpoint() -> None:
    """Let the other tasks run, in whichever async library runs this coroutine."""
    if current_async_library() == "trio":
        await trio.lowlevel.checkpoint()
    else:
        await asyncio.sleep(0)


async def forever() -> None:
    """Wait until cancelled, in whichever async library runs this coroutine."""
    if current_async_library() == "trio":
        await trio.sleep_forever()
    else:
        await asyncio.Event().wait()


class Signal:
    """An event for coroutines of one batch: created lazily in the library that uses it.

    ``set()`` and ``wait()`` must be called from that library's thread (the batch's
    event loop), like the underlying ``asyncio.Event``/``trio.Event``.
    """

    def __init__(self) -> None:
        self._event: Any = None

    def _get(self) -> Any:
        if self._event is None:
            self._event = trio.Event() if current_async_library() == "trio" else asyncio.Event()
        return self._event

    def set(self) -> None:
        self._get().set()

    def is_set(self) -> bool:
        return self._event is not None and self._event.is_set()

    async def wait(self) -> None:
        await self._get().wait()


class Countdown:
    """A barrier for coroutines: ``await arrive()`` returns once ``parties`` have arrived."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.all_here = Signal()

    async def arrive(self) -> None:
        self.arrived += 1
        if self.arrived >= self.parties:
            self.all_here.set()
        await self.all_here.wait()


async def within(seconds: float, awaitable: Awaitable[T]) -> T:
    """Await ``awaitable``; after ``seconds`` fail (``TimeoutError``, Trio: ``TooSlowError``)."""
    if current_async_library() == "trio":
        with trio.fail_after(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)


# --- picklable, module-level functions for process pools and Dask -------------------


def cpu_square(n: int) -> int:
    """A little CPU-bound work, then ``n * n``."""
    total = 0
    for i in range(2_000):
        total += i % 7
    return n * n + (total - total)


def whoami(tag: int) -> tuple[int, int]:
    """``(tag, pid)`` of the process that ran the call."""
    import os

    return tag, os.getpid()


def fail_with(message: str) -> None:
    raise ValueError(message)


def dask_worker_address(tag: int) -> tuple[int, str]:
    """``(tag, address)`` of the Dask worker that ran the call."""
    from distributed import get_worker

    return tag, get_worker().address
