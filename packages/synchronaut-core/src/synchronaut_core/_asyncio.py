"""Calls made from inside a running asyncio loop (uvloop included): the asyncio backend.

Everything here runs on the caller's loop thread, inside the caller's task, except
``_Job.run`` which a worker thread runs. The Trio backend (``_trio``) offers the same
functions; ``_backends`` says which one runs the current thread.
"""

from __future__ import annotations

import asyncio
import sys
from _thread import get_ident
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from contextvars import copy_context
from types import CoroutineType
from typing import Any, Literal

from ._context import _InCopiedContext, _write_back
from ._detect import _await, _is_coroutine_type
from ._errors import _timeout_error
from ._executor import _submit_to_default
from ._job import _Job, _JobRunner, _submit

name: Literal["asyncio"] = "asyncio"

_TIMED_OUT = object()


def _current_origin() -> object:
    """This thread's running loop: work offloaded from here sends coroutines back to it."""
    return asyncio.get_running_loop()


def _wake(fut: asyncio.Future[Any]) -> None:
    # On the loop thread: the worker finished first.
    if not fut.done():
        fut.set_result(None)


class _WakeLoop:
    """A job's ``notify`` for an awaiting asyncio task: called on the worker thread when
    the call is done, it has the loop set ``fut`` (``_wake``). One small object per
    offload where a closure made four (its function, cells and their tuple) for the
    cyclic garbage collector to walk while the call is in flight."""

    __slots__ = ("fut", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any]) -> None:
        self.loop = loop
        self.fut = fut

    def __call__(self) -> None:
        self.loop.call_soon_threadsafe(_wake, self.fut)


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
    job.origin_thread = get_ident()
    fut = loop.create_future()
    # Runs on the worker thread when the call is done: wakes this task's loop.
    job.notify = _WakeLoop(loop, fut)
    if executor is None:
        _submit_to_default(job)
    else:
        _submit(executor, job)
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
    if _is_coroutine_type(type(value)):  # pyright: ignore[reportUnknownArgumentType]
        # Any other coroutine too (aiosqlite's ``db.execute(...)``); other
        # awaitables are values (see _detect._is_coroutine_type).
        return await _maybe_timeout(_await(value), timeout, name)  # pyright: ignore[reportUnknownArgumentType]
    return value


def _maybe_timeout(coro: Coroutine[Any, Any, Any], timeout: float | None, name: str) -> Any:
    return coro if timeout is None else _with_timeout(coro, timeout, name)


async def _with_timeout(coro: Coroutine[Any, Any, Any], timeout: float, name: str) -> Any:
    """Await ``coro`` in this task; cancel it after ``timeout`` (CallAnyTimeout).

    It runs in a copy of this task's context: its ContextVar changes reach the
    caller when it finishes (returns or raises), not when it times out.
    """
    stepper = _InCopiedContext(coro)
    try:
        value = await _await_within(stepper, timeout, name)
    except _TimedOut:
        raise _timeout_error(name, timeout) from None
    except asyncio.CancelledError:
        raise  # this task was cancelled: nothing is written back
    except BaseException:
        _write_back(stepper.ctx)  # the callee raised: as a direct call would
        raise
    _write_back(stepper.ctx)
    return value


class _TimedOut(Exception):
    """Our own deadline passed (never escapes ``_with_timeout``)."""


if sys.version_info >= (3, 11):

    async def _await_within(stepper: _InCopiedContext, timeout: float, name: str) -> Any:
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                return await stepper
        except TimeoutError:
            # Only our own deadline is a timeout; the callee's own TimeoutError
            # propagates unchanged.
            if scope.expired():
                raise _TimedOut from None
            raise

else:

    async def _await_within(stepper: _InCopiedContext, timeout: float, name: str) -> Any:
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
            return await stepper
        except asyncio.CancelledError:
            if expired:
                raise _TimedOut from None
            raise
        finally:
            handle.cancel()
            if expired:
                # Our request to cancel this task is taken back, as 3.11's
                # asyncio.timeout does (Task.uncancel): a task that counts them -- a
                # batch worker, synchronaut_batch's _Worker -- would otherwise take a
                # later call's own CancelledError for a cancellation.
                uncancel: Callable[[], int] | None = getattr(task, "uncancel", None)
                if uncancel is not None:
                    uncancel()
