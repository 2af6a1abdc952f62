"""Calls made from inside a running asyncio loop (uvloop included).

Everything here runs on the caller's loop thread, inside the caller's task, except
``_Job.run`` which a worker thread runs.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from contextvars import copy_context
from types import CoroutineType
from typing import Any

from ._errors import _timeout_error
from ._executor import get_default_executor
from ._job import _Job, _JobRunner, _submit

_TIMED_OUT = object()


def _wake(fut: asyncio.Future[Any]) -> None:
    # On the loop thread: the worker finished first.
    if not fut.done():
        fut.set_result(None)


def _wake_timed_out(fut: asyncio.Future[Any]) -> None:
    # On the loop thread: the timer fired first.
    if not fut.done():
        fut.set_result(_TIMED_OUT)


async def _offload(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None,
    executor: Executor | _JobRunner | None,
    name: str,
) -> Any:
    """Run sync ``func`` in a worker thread; the awaiting task waits without blocking.

    The worker runs the call in a copy of this task's context and changes come back
    on return. On timeout or cancellation the call is abandoned (it cannot be
    killed) and told so through ``check_cancelled()``.
    """
    loop = asyncio.get_running_loop()
    ctx = copy_context()
    job = _Job(func, args, kwargs, ctx, name)
    job.origin = loop  # coroutines this call starts come back here (loop affinity)
    fut = loop.create_future()
    # Runs on the worker thread when the call is done: wakes this task's loop.
    job.notify = lambda: loop.call_soon_threadsafe(_wake, fut)
    _submit(executor if executor is not None else get_default_executor(), job)
    timer = None if timeout is None else loop.call_later(timeout, _wake_timed_out, fut)
    try:
        outcome = await fut
    except BaseException:
        # This task was cancelled while waiting: whoever cancelled it owns the
        # CancelledError; the thread is abandoned.
        if timer is not None:
            timer.cancel()
        job.give_up("was cancelled")
        raise
    if timer is not None:
        timer.cancel()
        if outcome is _TIMED_OUT:
            job.give_up(f"timed out after {timeout}s")
            raise _timeout_error(name, timeout)  # type: ignore[arg-type]
    value = job.outcome()
    if type(value) is CoroutineType:
        # A sync callable that returned a coroutine (a lambda around an async call):
        # await it here rather than leave it never awaited.
        return await _maybe_timeout(value, timeout, name)  # pyright: ignore[reportUnknownArgumentType]
    return value


def _maybe_timeout(coro: Coroutine[Any, Any, Any], timeout: float | None, name: str) -> Any:
    return coro if timeout is None else _with_timeout(coro, timeout, name)


if sys.version_info >= (3, 11):

    async def _with_timeout(coro: Coroutine[Any, Any, Any], timeout: float, name: str) -> Any:
        """Await ``coro`` in this task; cancel it after ``timeout`` (CallAnyTimeout)."""
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                return await coro
        except TimeoutError:
            # Only our own deadline becomes CallAnyTimeout; the callee's own
            # TimeoutError propagates unchanged.
            if scope.expired():
                raise _timeout_error(name, timeout) from None
            raise

else:

    async def _with_timeout(coro: Coroutine[Any, Any, Any], timeout: float, name: str) -> Any:
        """Await ``coro`` in this task; cancel it after ``timeout`` (CallAnyTimeout)."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        handle = loop.call_later(timeout, expire)
        try:
            return await coro
        except asyncio.CancelledError:
            if expired:
                raise _timeout_error(name, timeout) from None
            raise
        finally:
            handle.cancel()
