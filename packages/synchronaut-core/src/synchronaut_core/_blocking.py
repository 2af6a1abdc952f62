"""Sync callers that block: a coroutine run on a loop thread, a sync call in a pool.

Both paths hand work to another thread and park the calling thread until the other
side answers. A caller parked on a coroutine also *serves*: thread-sensitive sync
calls made below that coroutine are queued back to it and run on its thread (see
``_sensitive``). The wait wakes once a second to check that the other side is still
alive, so a loop shut down under a caller fails it instead of hanging it.

Which loop runs the coroutine (loop affinity): a sync call that synchronaut offloaded
from an event loop sends coroutines back to *that* loop, so loop-bound objects
(asyncio locks and queues, async DB pools, HTTP sessions) keep working; any other
thread uses the shared background loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sys
from _thread import allocate_lock
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from contextvars import Context, copy_context
from typing import Any, cast

from . import _loop
from ._cancel import _current
from ._context import _write_back
from ._errors import _timeout_error
from ._executor import get_default_executor
from ._job import _Job, _JobRunner, _submit
from ._sensitive import _default_thread, _target

_logger = logging.getLogger("synchronaut")

_EAGER_START = sys.version_info >= (3, 12)
_TASK_CONTEXT = sys.version_info >= (3, 11)

#: How often (seconds) a blocked caller checks that the thread it waits on is alive.
_LIVENESS_SLICE = 1.0
#: A loop that has not even enforced a timeout this long after it expired is stuck
#: (something blocks it); the caller then stops waiting.
_STUCK_LOOP_GRACE = 5.0

_DONE = object()


class _LoopCall(_JobRunner):
    """One coroutine run on a loop thread for a sync caller parked on ``queue``.

    The caller's thread takes from ``queue`` until ``_DONE``: anything else is a
    thread-sensitive job to run right there. The coroutine's context names this
    object as the thread-sensitive target (``_sensitive._target``).
    """

    __slots__ = (
        "abandoned",
        "baseline",
        "coro",
        "ctx",
        "error",
        "host",
        "lock",
        "name",
        "open",
        "queue",
        "task",
        "timed_out",
        "timeout",
        "timer",
        "value",
    )

    def __init__(
        self,
        host: _loop._LoopHost,
        coro: Coroutine[Any, Any, Any],
        ctx: Context,
        timeout: float | None,
        name: str,
    ) -> None:
        self.host = host
        self.coro: Coroutine[Any, Any, Any] | None = coro
        self.ctx = ctx
        ctx.run(_target.set, self)
        self.baseline = ctx.copy()
        self.timeout = timeout
        self.name = name
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.lock = allocate_lock()
        self.open = True
        self.task: asyncio.Task[Any] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.value: Any = None
        self.error: BaseException | None = None
        self.timed_out = False
        self.abandoned = False

    # --- any thread: thread-sensitive jobs for the parked caller -------------------

    def _run_job(self, job: _Job) -> None:
        with self.lock:
            if self.open:
                self.queue.put(job)
                return
        # The caller has moved on (a task outlived the call that started it): the
        # job still runs, on the process-wide thread-sensitive thread.
        job.runner = _default_thread()
        _default_thread()._run_job(job)

    def close(self) -> None:
        """On the caller's thread once it stops waiting: hand over what is left."""
        with self.lock:
            self.open = False
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return
            if item is not _DONE:
                item.runner = _default_thread()
                _default_thread()._run_job(item)

    # --- on the loop's thread -------------------------------------------------

    def start(self) -> None:
        coro, self.coro = self.coro, None
        assert coro is not None
        if self.abandoned:
            coro.close()  # the caller left before we started: never run it
            return
        loop = self.host.loop
        task: asyncio.Task[Any]
        guarded = _guarded(coro, self)
        try:
            if _EAGER_START:
                # Runs the coroutine's first step right here: a call that finishes
                # without suspending costs no further loop iteration.
                task = cast(
                    "asyncio.Task[Any]",
                    asyncio.Task(guarded, loop=loop, context=self.ctx, eager_start=True),  # pyright: ignore[reportCallIssue]
                )
            elif _TASK_CONTEXT:
                task = cast("asyncio.Task[Any]", loop.create_task(guarded, context=self.ctx))  # pyright: ignore[reportCallIssue]
            else:
                # 3.10: a task copies the context it is created in, so the callee's
                # changes are captured from inside it (see _guarded).
                task = self.ctx.run(loop.create_task, guarded)
        except BaseException as exc:
            guarded.close()
            coro.close()
            self.error = exc
            self.queue.put(_DONE)
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
            value = task.result()
            if self.error is None:
                self.value = value
        except asyncio.CancelledError as exc:
            if self.host.exiting:
                return  # see _LoopThread.exiting: leave the daemon caller parked
            if self.timed_out:
                self.error = _timeout_error(self.name, self.timeout)  # type: ignore[arg-type]
            elif self.host.closing:
                error = RuntimeError(
                    f"synchronaut's event loop was shut down while {self.name} was running"
                )
                error.__cause__ = exc
                self.error = error
            else:
                self.error = exc
        except BaseException as exc:
            self.error = exc
        self.queue.put(_DONE)


async def _guarded(coro: Coroutine[Any, Any, Any], call: _LoopCall) -> Any:
    # Runs as the task, on the loop's thread.
    try:
        return await coro
    except (KeyboardInterrupt, SystemExit) as exc:
        # asyncio re-raises these out of the loop's run_forever(), which would kill
        # a loop other callers share: hand them to the blocked caller instead.
        call.error = exc
        return None
    finally:
        if not _TASK_CONTEXT:
            call.ctx = copy_context()


def _serve_until_done(call: _LoopCall) -> None:
    """Park the calling thread until ``call`` finishes, running the jobs it is sent."""
    get = call.queue.get
    host = call.host
    idle = 0.0
    limit = None if call.timeout is None else call.timeout + _STUCK_LOOP_GRACE
    try:
        while True:
            try:
                item = get(timeout=_LIVENESS_SLICE)
            except queue.Empty:
                idle += _LIVENESS_SLICE
                if not host.alive():
                    if host.exiting:
                        continue  # interpreter exit: stay parked until frozen
                    raise RuntimeError(
                        f"synchronaut's event loop stopped before {call.name} finished"
                    ) from None
                if limit is not None and idle >= limit:
                    _logger.warning(
                        "synchronaut: the event loop running %s did not enforce its %ss "
                        "timeout (is something blocking the loop?); giving up on it",
                        call.name,
                        call.timeout,
                    )
                    raise _timeout_error(call.name, call.timeout) from None  # type: ignore[arg-type]
                continue
            if item is _DONE:
                return
            item.run()  # a thread-sensitive job, on this (the caller's) thread
    except BaseException:
        # KeyboardInterrupt, a dead loop or a stuck one: stop the coroutine too.
        call.abandoned = True
        with contextlib.suppress(RuntimeError):
            host.loop.call_soon_threadsafe(call.cancel)
        raise
    finally:
        call.close()


def _run_on_loop(
    host: _loop._LoopHost,
    coro: Coroutine[Any, Any, Any],
    timeout: float | None,
    name: str,
) -> Any:
    """Run ``coro`` on ``host``'s loop in a copy of the caller's context; block for it."""
    call = _LoopCall(host, coro, copy_context(), timeout, name)
    try:
        host.loop.call_soon_threadsafe(call.start)
    except RuntimeError as exc:  # the loop closed under us
        coro.close()
        raise RuntimeError(f"cannot run {name}: synchronaut's event loop is closed") from exc
    _serve_until_done(call)
    _write_back(call.ctx, call.baseline)
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

    In a thread that synchronaut offloaded from an event loop, the coroutine goes back
    to that loop (asyncio or Trio) while it is running. Otherwise it goes to the shared
    background loop -- except on the background loop's own thread, where it runs on a
    temporary loop in a new thread, so the call completes instead of deadlocking.
    """
    job = getattr(_current, "job", None)
    if job is not None and job.origin is not None:
        origin = job.origin
        if isinstance(origin, asyncio.AbstractEventLoop):
            if origin.is_running() and not origin.is_closed():
                return _run_on_loop(_loop._ForeignLoop(origin), coro, timeout, name)
        else:
            from . import _trio

            return _trio._run_from_thread(origin, coro, timeout, name)
    if _loop._is_background_thread():
        _logger.warning(
            "synchronaut: blocking call to %s made on the background loop's thread; "
            "running it on a temporary loop (await it instead to keep the loop free)",
            name,
        )
        spare = _loop._LoopThread("synchronaut-nested-loop")
        spare.start()
        try:
            return _run_on_loop(spare, coro, timeout, name)
        finally:
            spare.stop(timeout=None)
    return _run_on_loop(_loop._get_background(), coro, timeout, name)


def _call_in_executor_blocking(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None,
    executor: Executor | _JobRunner | None,
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


def _call_thread_sensitive_blocking(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None,
    name: str,
) -> Any:
    """A thread-sensitive sync call from sync code: on the right thread, blocking.

    Already on that thread (or in a plain thread, which is its own outermost sync
    caller): a direct call, where a timeout cannot be enforced. Otherwise the call is
    sent to that thread and this one waits, honouring ``timeout``.
    """
    runner = _target.get()
    in_worker = getattr(_current, "job", None) is not None
    if runner is None:
        if not in_worker:
            return func(*args, **kwargs)
        runner = _default_thread()
    job = getattr(_current, "job", None)
    if job is not None and job.runner is runner:
        return func(*args, **kwargs)
    return _call_in_executor_blocking(func, args, kwargs, timeout, runner, name)
