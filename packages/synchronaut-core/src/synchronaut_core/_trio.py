"""Calls made from inside ``trio.run``: the Trio backend. Imported only once Trio runs.

Offers the same functions as ``_asyncio`` (``_offload``, ``_with_timeout``,
``_current_origin``); ``_backends`` says which one runs the current thread. Everything
here runs in the calling Trio task, except ``_Job.run`` (a worker thread).
"""

from __future__ import annotations

import contextlib
from _thread import get_ident
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from contextvars import copy_context
from functools import partial
from types import CoroutineType
from typing import Any, Literal, cast

import trio

from . import _fork
from ._at_exit import _park_if_refused
from ._context import _InCopiedContext, _write_back
from ._detect import _await, _is_coroutine_type
from ._errors import _timeout_error
from ._job import _Job, _JobRunner, _submit
from ._thread_state import _nested_in

name: Literal["trio"] = "trio"


async def _with_timeout(coro: Coroutine[Any, Any, Any], timeout: float, name: str) -> Any:
    """Await ``coro`` in this task; cancel it after ``timeout`` (CallAnyTimeout).

    It runs in a copy of this task's context: its ContextVar changes reach the
    caller when it finishes (returns or raises), not when it times out.
    """
    stepper = _InCopiedContext(coro)
    try:
        with trio.move_on_after(timeout) as scope:
            value = await stepper
    except trio.Cancelled:
        raise  # an outer scope cancelled this task: nothing is written back
    except BaseException:
        _write_back(stepper.ctx)  # the callee raised: as a direct call would
        raise
    if scope.cancelled_caught:
        raise _timeout_error(name, timeout)
    _write_back(stepper.ctx)
    return value


def _limiter_for(job: _Job) -> trio.CapacityLimiter:
    """The thread limiter for ``job``: the run's default one, or a slot lent to it.

    A Trio worker thread blocked in a nested call keeps its token of the run's
    default limiter (40 threads); when every token is taken, a sync call made by the
    work it waits for must not queue behind it: it takes the token the blocked
    thread lends (a one-token limiter of its own, see ``_thread_state._Lender``).
    The offload notes the default limiter on the job: the thread that runs it is a
    worker of that pool.
    """
    default = trio.to_thread.current_default_thread_limiter()
    job.pool = default
    if default.available_tokens > 0:  # no await from here to the acquire: no race
        return default
    for lender in reversed(job.ctx.get(_nested_in, ())):
        if lender.pool is default and lender.active:
            if lender.limiter is None:
                lender.limiter = trio.CapacityLimiter(1)
            job.slot = _LentToken(trio.lowlevel.current_trio_token(), lender.limiter)
            return lender.limiter
    return default


class _LentToken:
    """The lent token a nested call holds: given back while the call itself waits.

    (See ``_thread_state._Lender``: a sibling it may be waiting for needs the token.)
    The limiter is adjusted on the Trio thread, in order.
    """

    __slots__ = ("limiter", "token")

    def __init__(self, token: trio.lowlevel.TrioToken, limiter: trio.CapacityLimiter) -> None:
        self.token = token
        self.limiter = limiter

    def blocked(self) -> None:
        self._adjust(1)

    def unblocked(self) -> None:
        self._adjust(-1)

    def _adjust(self, delta: int) -> None:
        # On the worker thread; RunFinishedError (a RuntimeError) once the run is over.
        with contextlib.suppress(RuntimeError):
            self.token.run_sync_soon(_adjust_limiter, self.limiter, delta)


def _adjust_limiter(limiter: trio.CapacityLimiter, delta: int) -> None:
    # On the Trio thread: a one-token limiter has one more token while its holder
    # waits, one fewer after (never fewer than one).
    total = limiter.total_tokens
    if isinstance(total, int):
        limiter.total_tokens = max(1, total + delta)


def _current_origin() -> object:
    """This run's token: work offloaded from here sends its coroutines back to it."""
    return trio.lowlevel.current_trio_token()


async def _wait_for_job(job: _Job, executor: Executor | _JobRunner | None) -> None:
    # In this Trio task; returns when the job has run (its outcome is on the job).
    if executor is None:
        limiter = _limiter_for(job)
        try:
            await trio.to_thread.run_sync(job.run, abandon_on_cancel=True, limiter=limiter)
        except RuntimeError as exc:
            # Trio's thread cache refusing a thread at exit (job.run raises nothing):
            # this run's thread is a daemon about to be frozen (see _at_exit).
            _park_if_refused(exc)
            raise
        return
    done = trio.Event()
    # Runs on the worker thread; RunFinishedError (a RuntimeError) if trio.run has
    # ended, which _Job.run tolerates. Never in a forked child: the run is the
    # parent's, and its entry queue's lock may have been held by a vanished thread.
    job.notify = partial(_notify_run, trio.lowlevel.current_trio_token(), done.set, _fork._epoch)
    _submit(executor, job)
    await done.wait()


def _notify_run(token: trio.lowlevel.TrioToken, callback: Callable[[], object], epoch: int) -> None:
    if epoch == _fork._epoch:
        token.run_sync_soon(callback)


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
    job = _Job(func, args, kwargs, copy_context(), name)
    job.origin = trio.lowlevel.current_trio_token()
    job.origin_thread = get_ident()
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
    elif _is_coroutine_type(type(value)):  # pyright: ignore[reportUnknownArgumentType]
        # Any other coroutine too; other awaitables are values (see _detect).
        coro = _await(value)  # pyright: ignore[reportUnknownArgumentType]
    else:
        return value
    return await (coro if timeout is None else _with_timeout(coro, timeout, name))
