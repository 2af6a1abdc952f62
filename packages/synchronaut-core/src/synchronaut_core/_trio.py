"""Calls made from inside ``trio.run``. Imported only once Trio is running."""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from contextvars import copy_context
from functools import partial
from types import CoroutineType
from typing import Any, cast

import trio

from ._context import _write_back
from ._errors import _timeout_error
from ._job import _Job, _submit


async def _with_timeout(coro: Coroutine[Any, Any, Any], timeout: float, name: str) -> Any:
    """Await ``coro`` in this task; cancel it after ``timeout`` (CallAnyTimeout)."""
    with trio.move_on_after(timeout):
        return await coro
    # Reached only when our scope cancelled the coroutine.
    raise _timeout_error(name, timeout)


async def _offload(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None,
    executor: Executor | None,
    name: str,
) -> Any:
    """Run sync ``func`` in a worker thread while this Trio task waits.

    Without ``executor`` the thread comes from Trio's own cache
    (``trio.to_thread.run_sync``, so ``trio.from_thread`` works inside the call);
    with one, the call goes to that executor. On timeout or cancellation the thread
    is abandoned and told so through ``check_cancelled()``.
    """
    ctx = copy_context()
    job = _Job(func, args, kwargs, ctx, name)
    try:
        with trio.move_on_after(math.inf if timeout is None else timeout) as scope:
            if executor is None:
                await trio.to_thread.run_sync(job.run, abandon_on_cancel=True)
            else:
                done = trio.Event()
                # Runs on the worker thread; RunFinishedError (a RuntimeError) if
                # trio.run has ended, which _Job.run tolerates.
                job.notify = partial(trio.lowlevel.current_trio_token().run_sync_soon, done.set)
                _submit(executor, job)
                await done.wait()
    except BaseException:
        job.give_up("was cancelled")
        raise
    if scope.cancelled_caught:
        job.give_up(f"timed out after {timeout}s")
        raise _timeout_error(name, timeout)  # type: ignore[arg-type]
    _write_back(ctx)
    error = job.error
    if error is not None:
        job.error = None
        try:
            raise error
        finally:
            del error
    value = job.value
    if type(value) is CoroutineType:
        # A sync callable returned a coroutine: await it instead of dropping it.
        coro = cast("Coroutine[Any, Any, Any]", value)
        return await (coro if timeout is None else _with_timeout(coro, timeout, name))
    return value
