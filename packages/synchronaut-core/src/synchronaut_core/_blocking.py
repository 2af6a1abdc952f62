"""Sync callers that block: a coroutine run on a loop thread, a sync call in a pool.

Both paths hand work to another thread and park the calling thread on a plain lock
(cheaper than ``concurrent.futures.Future``'s condition variable) until the other
side releases it. The wait wakes once a second to check that the other side is still
alive, so a loop shut down under a caller fails it instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from _thread import LockType, allocate_lock
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from contextvars import Context, copy_context
from typing import Any, cast

from . import _loop
from ._context import _write_back
from ._errors import _timeout_error
from ._executor import get_default_executor
from ._job import _Job, _submit

_logger = logging.getLogger("synchronaut")

_EAGER_START = sys.version_info >= (3, 12)
_TASK_CONTEXT = sys.version_info >= (3, 11)

#: How often (seconds) a blocked caller checks that the thread it waits on is alive.
_LIVENESS_SLICE = 1.0
#: A loop that has not even enforced a timeout this long after it expired is stuck
#: (something blocks it); the caller then stops waiting.
_STUCK_LOOP_GRACE = 5.0


class _LoopCall:
    """One coroutine run on a loop thread for a sync caller blocked on ``lock``."""

    __slots__ = (
        "abandoned",
        "coro",
        "ctx",
        "error",
        "lock",
        "loop_thread",
        "name",
        "task",
        "timed_out",
        "timeout",
        "timer",
        "value",
    )

    def __init__(
        self,
        loop_thread: _loop._LoopThread,
        coro: Coroutine[Any, Any, Any],
        ctx: Context,
        timeout: float | None,
        name: str,
    ) -> None:
        self.loop_thread = loop_thread
        self.coro: Coroutine[Any, Any, Any] | None = coro
        self.ctx = ctx
        self.timeout = timeout
        self.name = name
        self.lock: LockType = allocate_lock()
        self.lock.acquire()
        self.task: asyncio.Task[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.value: Any = None
        self.error: BaseException | None = None
        self.timed_out = False
        self.abandoned = False

    # --- on the loop's thread -------------------------------------------------

    def start(self) -> None:
        coro, self.coro = self.coro, None
        assert coro is not None
        if self.abandoned:
            coro.close()  # the caller left before we started: never run it
            return
        loop = self.loop_thread.loop
        task: asyncio.Task[Any]
        try:
            if _EAGER_START:
                # Runs the coroutine's first step right here: a call that finishes
                # without suspending costs no further loop iteration.
                task = cast(
                    "asyncio.Task[Any]",
                    asyncio.Task(coro, loop=loop, context=self.ctx, eager_start=True),  # pyright: ignore[reportCallIssue]
                )
            elif _TASK_CONTEXT:
                task = cast("asyncio.Task[Any]", loop.create_task(coro, context=self.ctx))  # pyright: ignore[reportCallIssue]
            else:
                # 3.10: a task copies the context it is created in, so the callee's
                # changes are captured from inside it (see _capture_context).
                task = self.ctx.run(loop.create_task, _capture_context(coro, self))
        except BaseException as exc:
            coro.close()
            self.error = exc
            self.lock.release()
            return
        if task.done():
            self._finish(task)
            return
        self.task = task
        if self.timeout is not None:
            self.timer = loop.call_later(self.timeout, self._expire)
        task.add_done_callback(self._finish)

    def _expire(self) -> None:
        self.timed_out = True
        if self.task is not None:
            self.task.cancel()

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def _finish(self, task: asyncio.Task[Any]) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.task = None
        try:
            self.value = task.result()
        except asyncio.CancelledError as exc:
            if self.loop_thread.exiting:
                return  # see _LoopThread.exiting: leave the daemon caller parked
            if self.timed_out:
                self.error = _timeout_error(self.name, self.timeout)  # type: ignore[arg-type]
            elif self.loop_thread.closing:
                error = RuntimeError(
                    f"synchronaut's event loop was shut down while {self.name} was running"
                )
                error.__cause__ = exc
                self.error = error
            else:
                self.error = exc
        except BaseException as exc:
            self.error = exc
        self.lock.release()


async def _capture_context(coro: Coroutine[Any, Any, Any], call: _LoopCall) -> Any:
    try:
        return await coro
    finally:
        call.ctx = copy_context()


def _wait_for_loop(call: _LoopCall) -> None:
    """Park the calling thread until ``call`` finishes; see the module docstring."""
    lock = call.lock
    loop_thread = call.loop_thread
    waited = 0.0
    limit = None if call.timeout is None else call.timeout + _STUCK_LOOP_GRACE
    try:
        while not lock.acquire(timeout=_LIVENESS_SLICE):
            waited += _LIVENESS_SLICE
            if not loop_thread.alive():
                if loop_thread.exiting:
                    continue  # interpreter exit: stay parked until frozen
                raise RuntimeError(f"synchronaut's event loop stopped before {call.name} finished")
            if limit is not None and waited >= limit:
                _logger.warning(
                    "synchronaut: the event loop running %s did not enforce its %ss "
                    "timeout (is something blocking the loop?); giving up on it",
                    call.name,
                    call.timeout,
                )
                raise _timeout_error(call.name, call.timeout)  # type: ignore[arg-type]
    except BaseException:
        # KeyboardInterrupt, a dead loop or a stuck one: stop the coroutine too.
        call.abandoned = True
        with contextlib.suppress(RuntimeError):
            loop_thread.loop.call_soon_threadsafe(call.cancel)
        raise


def _run_on_loop_thread(
    loop_thread: _loop._LoopThread,
    coro: Coroutine[Any, Any, Any],
    timeout: float | None,
    name: str,
) -> Any:
    """Run ``coro`` on ``loop_thread`` in a copy of the caller's context; block for it."""
    call = _LoopCall(loop_thread, coro, copy_context(), timeout, name)
    try:
        loop_thread.loop.call_soon_threadsafe(call.start)
    except RuntimeError as exc:  # the loop closed under us
        coro.close()
        raise RuntimeError(f"cannot run {name}: synchronaut's event loop is closed") from exc
    _wait_for_loop(call)
    _write_back(call.ctx)
    error = call.error
    if error is not None:
        call.error = None
        try:
            raise error
        finally:
            del error
    return call.value


def _block_on_coroutine(coro: Coroutine[Any, Any, Any], timeout: float | None, name: str) -> Any:
    """Run ``coro`` to completion for a sync caller and return its value.

    Called from a thread that runs no event loop, the coroutine goes to the shared
    background loop. Called from a thread whose loop is running (blocking it: logged
    as a warning), it runs on a loop that thread does not own -- the background loop,
    or, on the background loop's own thread, a temporary loop in a new thread -- so
    the call completes instead of deadlocking.
    """
    if _loop._is_background_thread():
        _logger.warning(
            "synchronaut: blocking call to %s made on the background loop's thread; "
            "running it on a temporary loop (await it instead to keep the loop free)",
            name,
        )
        spare = _loop._LoopThread("synchronaut-nested-loop")
        spare.start()
        try:
            return _run_on_loop_thread(spare, coro, timeout, name)
        finally:
            spare.stop(timeout=None)
    return _run_on_loop_thread(_loop._get_background(), coro, timeout, name)


def _call_in_executor_blocking(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None,
    executor: Executor | None,
    name: str,
) -> Any:
    """Run sync ``func`` in ``executor`` (default pool) and block for its value.

    On timeout the call is abandoned (threads cannot be killed; ``check_cancelled()``
    lets it notice) and :class:`CallAnyTimeout` is raised.
    """
    ctx = copy_context()
    job = _Job(func, args, kwargs, ctx, name)
    lock = allocate_lock()
    lock.acquire()
    job.notify = lock.release
    _submit(executor if executor is not None else get_default_executor(), job)
    try:
        if timeout is None:
            lock.acquire()
        elif not lock.acquire(timeout=timeout):
            job.give_up(f"timed out after {timeout}s")
            raise _timeout_error(name, timeout)
    except BaseException as exc:
        if job.cancel_reason is None:
            job.give_up(f"was interrupted ({type(exc).__name__})")
        raise
    _write_back(ctx)
    error = job.error
    if error is not None:
        job.error = None
        try:
            raise error
        finally:
            del error
    return job.value
