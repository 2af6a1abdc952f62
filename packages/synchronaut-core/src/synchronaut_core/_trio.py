"""Calls made from inside ``trio.run``. Imported only once Trio is running."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from contextvars import Context, copy_context
from functools import partial
from types import CoroutineType
from typing import Any, cast

import trio

from ._context import _write_back
from ._errors import _timeout_error
from ._job import _Job, _JobRunner, _submit


async def _with_timeout(coro: Coroutine[Any, Any, Any], timeout: float, name: str) -> Any:
    """Await ``coro`` in this task; cancel it after ``timeout`` (CallAnyTimeout)."""
    with trio.move_on_after(timeout):
        return await coro
    # Reached only when our scope cancelled the coroutine.
    raise _timeout_error(name, timeout)


async def _wait_for_job(job: _Job, executor: Executor | _JobRunner | None) -> None:
    # In this Trio task; returns when the job has run (its outcome is on the job).
    if executor is None:
        await trio.to_thread.run_sync(job.run, abandon_on_cancel=True)
        return
    done = trio.Event()
    # Runs on the worker thread; RunFinishedError (a RuntimeError) if trio.run has
    # ended, which _Job.run tolerates.
    job.notify = partial(trio.lowlevel.current_trio_token().run_sync_soon, done.set)
    _submit(executor, job)
    await done.wait()


async def _offload(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None,
    executor: Executor | _JobRunner | None,
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
    job.origin = trio.lowlevel.current_trio_token()
    timed_out = False
    try:
        if timeout is None:
            # No cancel scope: one around trio.to_thread costs ~10 us per call.
            await _wait_for_job(job, executor)
        else:
            with trio.move_on_after(timeout) as scope:
                await _wait_for_job(job, executor)
            timed_out = scope.cancelled_caught
    except BaseException:
        job.give_up("was cancelled")
        raise
    if timed_out:
        job.give_up(f"timed out after {timeout}s")
        raise _timeout_error(name, timeout)  # type: ignore[arg-type]
    value = job.outcome()
    if type(value) is CoroutineType:
        # A sync callable returned a coroutine: await it instead of dropping it.
        coro = cast("Coroutine[Any, Any, Any]", value)
        return await (coro if timeout is None else _with_timeout(coro, timeout, name))
    return value


def _run_from_thread(
    token: trio.lowlevel.TrioToken,
    coro: Coroutine[Any, Any, Any],
    timeout: float | None,
    name: str,
) -> Any:
    """Run ``coro`` in the Trio run behind ``token``, from a worker thread; block for it.

    Used for loop affinity: the worker was started (via synchronaut) by a task of that
    run. Trio runs the coroutine in a copy of this thread's context; its changes are
    captured at the end and written back here.
    """
    captured: list[Context] = []

    async def in_trio() -> Any:
        # Runs as a Trio system task in the trio.run thread.
        try:
            return await (coro if timeout is None else _with_timeout(coro, timeout, name))
        finally:
            captured.append(copy_context())

    try:
        return trio.from_thread.run(in_trio, trio_token=token)
    except trio.RunFinishedError as exc:
        coro.close()
        raise RuntimeError(
            f"cannot run {name}: the Trio run that started this thread has finished"
        ) from exc
    finally:
        if captured:
            _write_back(captured[0])
