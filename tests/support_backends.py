"""The async backends every test runs on, and the primitives a test body needs.

Importable from any test module (pytest puts ``tests/`` on ``sys.path`` for the root
conftest), and from the child processes of a process pool.

Besides asyncio, uvloop and Trio, two variants of asyncio (as anyio's own tests run):

- ``asyncio+debug``: the loop in debug mode. asyncio then raises on the calls made
  to a loop from a thread other than its own that are not thread-safe (``call_soon``,
  ``create_task``...), and reports coroutines never awaited with where they were made.
  Any error the loop's exception handler receives ("Task exception was never
  retrieved", an exception in a callback) fails the test. Slow callbacks are only
  logged (see ``_SLOW_CALLBACK``).
- ``asyncio+eager`` (Python 3.12+): tasks made with ``asyncio.eager_task_factory``,
  which run their first step inside ``create_task`` -- before it returns, before the
  caller's next line.
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

#: Every backend this interpreter has (eager tasks exist from Python 3.12).
BACKENDS = [
    "asyncio",
    "asyncio+debug",
    *(["asyncio+eager"] if sys.version_info >= (3, 12) else []),
    "uvloop",
    "trio",
]

#: Every asyncio backend (uvloop included).
ASYNCIO_BACKENDS = [name for name in BACKENDS if name != "trio"]

#: In debug mode asyncio logs (warning, logger "asyncio") every callback or task step
#: that holds the loop longer than ``slow_callback_duration``; such a log never fails a
#: test: a duration is no verdict (a loaded CI machine stretches any step), and tests
#: block a loop on purpose -- a blocking call from async code is part of the contract.
#: The default 0.1 s reports debug mode's own cost (a step starting 100 tasks, each
#: recording where it was made, takes that long); 1 s reports only a loop really
#: stalled, a line worth having in a failing test's captured log.
_SLOW_CALLBACK = 1.0


class Backend:
    """One async backend: how to run a coroutine function, and the few primitives the
    tests need, so that one test body runs unchanged on every backend."""

    def __init__(self, name: str) -> None:
        if name not in (*BACKENDS, "asyncio+eager"):
            raise ValueError(f"unknown backend {name!r}; one of {BACKENDS}")
        if name == "asyncio+eager" and sys.version_info < (3, 12):
            pytest.skip("asyncio.eager_task_factory needs Python 3.12+")
        self.name = name

    @property
    def library(self) -> str:
        """``"trio"`` or ``"asyncio"`` (uvloop and the variants are asyncio)."""
        return "trio" if self.name == "trio" else "asyncio"

    def __repr__(self) -> str:
        return self.name

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` to completion on a fresh loop of this backend."""
        if self.name == "trio":
            return trio.run(fn, *args)
        factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
        if self.name == "uvloop":
            factory = pytest.importorskip("uvloop").new_event_loop  # not on Windows
        elif self.name == "asyncio+eager":
            factory = _new_eager_loop
        errors: list[dict[str, Any]] = []
        if sys.version_info >= (3, 11):
            with asyncio.Runner(loop_factory=factory) as runner:
                if self.name == "asyncio+debug":
                    _debug(runner.get_loop(), errors)
                try:
                    return runner.run(_as_coroutine(fn, args))
                finally:
                    # Closing the runner cancels what is left and closes the loop:
                    # errors seen until then count too.
                    runner.close()
                    _fail_on(errors)
        loop = factory()
        if self.name == "asyncio+debug":
            _debug(loop, errors)
        try:
            return loop.run_until_complete(_as_coroutine(fn, args))
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                _fail_on(errors)

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


def _new_eager_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.set_task_factory(asyncio.eager_task_factory)
    return loop


def _debug(loop: asyncio.AbstractEventLoop, errors: list[dict[str, Any]]) -> None:
    """Debug mode on ``loop``; what its exception handler gets is kept in ``errors``."""
    loop.set_debug(True)
    loop.slow_callback_duration = _SLOW_CALLBACK

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        errors.append(context)
        loop.default_exception_handler(context)  # logged too, with debug's tracebacks

    loop.set_exception_handler(handler)


def _fail_on(errors: list[dict[str, Any]]) -> None:
    if errors:
        messages = "; ".join(
            f"{context.get('message')} ({context.get('exception')!r})" for context in errors
        )
        raise AssertionError(f"the debug loop's exception handler was called: {messages}")


async def _as_coroutine(fn: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> T:
    return await fn(*args)
