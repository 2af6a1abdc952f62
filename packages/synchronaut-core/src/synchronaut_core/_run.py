"""``run(main, *args)``: ``asyncio.run`` that picks uvloop when it is installed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ._detect import _is_async
from ._loop import _get_loop_factory

__all__ = ["run"]

T = TypeVar("T")


def run(main: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    """Run ``main(*args)`` to completion in a new event loop and return its value.

    Like ``asyncio.run``: a fresh loop (uvloop's when importable, chosen through a
    loop factory so the global event-loop policy is untouched), remaining tasks
    cancelled and async generators closed at the end, the loop closed. Call it from
    plain sync code; raises ``RuntimeError`` inside a running event loop and
    ``TypeError`` if ``main`` is not an ``async def`` function.
    """
    if not callable(main) or not _is_async(main):
        raise TypeError(f"run() needs an async function, got {main!r}")
    if asyncio._get_running_loop() is not None:  # pyright: ignore[reportPrivateUsage]
        raise RuntimeError("run() cannot be called from a running event loop; await instead")
    factory = _get_loop_factory()
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main(*args))
    return _run_in_new_loop(factory, main(*args))  # pragma: no cover - Python 3.10 only


def _run_in_new_loop(
    factory: Callable[[], asyncio.AbstractEventLoop],
    coro: Coroutine[Any, Any, T],
    grace: float | None = None,
) -> T:
    """``asyncio.run`` with a loop factory, on every Python (3.10 has no Runner).

    ``grace``: how long the tasks left over may take to end once cancelled (None: as
    long as they take, as ``asyncio.run``). With a grace -- at interpreter exit, where
    nothing may hang (see ``_at_exit``) -- the default executor is not joined either.
    """
    loop = factory()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(coro)
    finally:
        try:
            # A function of its own: CPython 3.13.0 leaves some loops' back edges out
            # of the enclosing ``try``'s exception table, so a Ctrl-C landing on one
            # would skip the ``finally`` below and leave the loop open and set.
            _end_leftovers(loop, grace)
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _end_leftovers(loop: asyncio.AbstractEventLoop, grace: float | None) -> None:
    """Cancel the tasks ``main`` left, close async generators, join the executor."""
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=grace))
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: no "exception was never retrieved"
    loop.run_until_complete(loop.shutdown_asyncgens())
    if grace is None:
        loop.run_until_complete(loop.shutdown_default_executor())
