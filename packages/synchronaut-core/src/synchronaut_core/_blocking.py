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
import threading
import time
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
_CR_SUSPENDED = sys.version_info >= (3, 11)  # coroutine.cr_suspended exists

#: How often (seconds) a blocked caller checks that the thread it waits on is alive.
_LIVENESS_SLICE = 1.0
#: A loop that has not even enforced a timeout this long after it expired is stuck
#: (something blocks it); the caller then stops waiting.
_STUCK_LOOP_GRACE = 5.0

#: The longest wait a lock or queue accepts; a longer timeout is as good as none.
_TIMEOUT_MAX = threading.TIMEOUT_MAX

_DONE = object()
#: What ``_run_on_loop`` returns when the call never started because its loop was
#: stopping: the coroutine is untouched, and runs on a fresh loop instead.
_MOVED = object()
#: How many stopping loops a call may move past before giving up (a bound, not a
#: figure anyone should reach: it takes a loop stopping before each try).
_MAX_MOVES = 20

#: A coroutine, or a function of no arguments making one (see _LoopCall.start).
_CoroOrMaker = Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]]


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
        "inner",
        "lock",
        "movable",
        "moved",
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
        coro: _CoroOrMaker,
        ctx: Context,
        timeout: float | None,
        name: str,
        movable: bool = False,
    ) -> None:
        self.host = host
        # Owned by whoever takes it out under ``lock``: the loop thread to run it
        # (``start``), or the caller to close it or run it elsewhere (``take_back``).
        # A function making the coroutine is called on the loop thread, in ``ctx``.
        self.coro: _CoroOrMaker | None = coro
        # May the call go to another loop if this one stops before it starts? (The
        # background loop: yes. A loop-affine or pinned call: no, it belongs there.)
        self.movable = movable
        self.moved = False
        # The coroutine once its task exists (loop thread only), closed when the task
        # ends: see _finish.
        self.inner: Coroutine[Any, Any, Any] | None = None
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

    def take_back(self) -> _CoroOrMaker | None:
        """On the caller's thread: the coroutine (or maker), if the loop has not started it.

        After this the loop thread's ``start`` finds nothing to run. None if the loop
        took it first (it runs, or ran, there).
        """
        with self.lock:
            coro, self.coro = self.coro, None
        return coro

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
        with self.lock:
            coro, self.coro = self.coro, None
            if coro is not None and self.movable and self.host.closing:
                # The loop is stopping (shutdown(), a stop nobody asked for, a stuck
                # loop retired): the caller runs the coroutine, which it still holds,
                # on a fresh loop. Nothing has run, so nothing runs twice.
                coro = None
                self.moved = True
                self.queue.put(_DONE)
        if coro is None:
            return  # moved, or taken back by an interrupted caller (who closed it)
        if self.abandoned:
            _discard(coro)  # the caller left before we started: never run it
            return
        if self.host.closing:
            # A call that belongs to this loop (a pinned iterator's next step, a
            # loop-affine call) reaching it after it began to stop: a task started
            # now would miss the cancel sweep of _finish_pending and race its
            # shutdown_asyncgens (an async generator "already running"). Refuse it.
            _discard(coro)
            if self.host.exiting:
                return  # see _LoopThread.exiting: leave the daemon caller parked
            self.error = RuntimeError(
                f"cannot run {self.name}: synchronaut's event loop "
                + ("was stopped" if self.host.stopped_unexpectedly else "is shutting down")
            )
            self.queue.put(_DONE)
            return
        if callable(coro):
            # Made here, on the loop thread, which no signal interrupts: a Ctrl-C in
            # the caller's thread can never leave a coroutine made but not owned
            # (in bytecode, an interrupt can land right after the call making it).
            try:
                coro = self.ctx.run(coro)
            except BaseException as exc:  # its arguments did not fit, say
                self.error = exc
                self.queue.put(_DONE)
                return
        loop = self.host.loop
        task: asyncio.Task[Any]
        guarded = _guarded(coro, self)
        self.inner = coro
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
        # On the loop thread, the task done. A task cancelled before its first step
        # (a loop stopping, a caller interrupted, right after start) never ran
        # _guarded, so the coroutine it holds was never awaited: close it (a no-op
        # for one that ran), or it warns when collected.
        inner, self.inner = self.inner, None
        if inner is not None:
            inner.close()
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
            elif self.host.stopped_unexpectedly:
                error = RuntimeError(
                    f"synchronaut's event loop was stopped while {self.name} was running "
                    "(did code running on it call loop.stop()?); the next call starts "
                    "a new loop"
                )
                error.__cause__ = exc
                self.error = error
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
    """Park the calling thread until ``call`` finishes, running the jobs it is sent.

    Returns with ``call.moved`` set when the call never started and can run on a
    fresh loop instead (its loop is stopping, or stopped before taking it).
    """
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
                if host.exiting:
                    continue  # interpreter exit: stay parked until frozen
                # Queued behind a loop that stops taking calls (retired as stuck, or
                # stopped before it reached ours): if it has not started the
                # coroutine, run it elsewhere.
                if (
                    call.movable
                    and (host.closing or not host.alive())
                    and call.take_back() is not None
                ):
                    call.moved = True
                    return
                if not host.alive():
                    raise RuntimeError(
                        f"synchronaut's event loop stopped before {call.name} finished"
                    ) from None
                if limit is not None and idle >= limit:
                    # The loop's thread is blocked (a coroutine calling time.sleep(),
                    # a blocking read): if it is the background loop, later calls go
                    # to a fresh one instead of queueing behind it.
                    retired = _loop._retire_stuck(host)
                    _logger.warning(
                        "synchronaut: the event loop running %s did not enforce its %ss "
                        "timeout (is something blocking the loop?); giving up on it%s",
                        call.name,
                        call.timeout,
                        "; later calls go to a new loop" if retired else "",
                    )
                    raise _timeout_error(call.name, call.timeout) from None  # type: ignore[arg-type]
                continue
            if item is _DONE:
                return
            item.run()  # a thread-sensitive job, on this (the caller's) thread
    except BaseException:
        # KeyboardInterrupt, a dead loop or a stuck one: stop the coroutine too --
        # close it here if the loop has not started it, else cancel it there.
        _abandon(call)
        raise
    finally:
        call.close()


def _abandon(call: _LoopCall) -> None:
    """The caller stops waiting for ``call`` (on its own thread): stop the coroutine."""
    call.abandoned = True
    coro = call.take_back()
    if coro is not None:
        _discard(coro)  # never started: no "coroutine was never awaited" warning
        return
    with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to stop
        call.host.loop.call_soon_threadsafe(call.cancel)


def _run_on_loop(
    host: _loop._LoopHost,
    coro: _CoroOrMaker,
    timeout: float | None,
    name: str,
    movable: bool = False,
) -> Any:
    """Run ``coro`` on ``host``'s loop in a copy of the caller's context; block for it.

    ``coro`` may be a function making the coroutine: it is then made on the loop's
    thread, so an interrupt (Ctrl-C) here can never come between making it and
    owning it. With ``movable``, a call that the loop never started because it was
    stopping returns ``_MOVED`` (``coro`` untouched) for the caller to run on
    another loop.
    """
    call: _LoopCall | None = None
    try:
        call = _LoopCall(host, coro, copy_context(), timeout, name, movable)
        try:
            host.loop.call_soon_threadsafe(call.start)
        except RuntimeError as exc:  # the loop closed under us
            if host.exiting:
                _loop._park_if_exiting()
            if movable:
                return _MOVED
            raise RuntimeError(f"cannot run {name}: synchronaut's event loop is closed") from exc
    except BaseException:
        # Closed loop, or an interrupt (Ctrl-C) before the loop got the coroutine:
        # whoever still holds it closes it, so it is never left un-awaited.
        if call is None:
            _discard(coro)
        else:
            _abandon(call)
        raise
    _serve_until_done(call)
    if call.moved:
        return _MOVED
    _write_back(call.ctx, call.baseline)
    error = call.error
    if error is not None:
        call.error = None
        try:
            raise error
        finally:
            del error
    return call.value


def _discard(coro: _CoroOrMaker) -> None:
    """Drop a coroutine that will never run (closed: no "never awaited"), or its maker."""
    if not callable(coro):
        coro.close()


def _close_if_unstarted(coro: Coroutine[Any, Any, Any]) -> None:
    """On the caller's thread, when handing ``coro`` over raised: close it if unstarted.

    An interrupt (Ctrl-C) can land on the very entry of ``_block_on_coroutine``,
    before anything owns the coroutine its caller just made; closed here, it does
    not warn "never awaited". One that started belongs to the loop running it, and
    is left alone. (Between the checks and ``close()`` there is no call, so the GIL
    cannot pass to a loop thread that would start it meanwhile.)
    """
    if _CR_SUSPENDED:
        if coro.cr_frame is not None and not coro.cr_running and not coro.cr_suspended:  # pyright: ignore[reportAttributeAccessIssue]
            coro.close()
    elif coro.cr_frame is not None and coro.cr_frame.f_lasti < 0:  # pyright: ignore[reportAttributeAccessIssue]
        coro.close()


def _block_on_coroutine(coro: _CoroOrMaker, timeout: float | None, name: str) -> Any:
    """Run ``coro`` to completion for a sync caller and return its value.

    ``coro`` may be a function making the coroutine, called on the loop's thread
    (see ``_run_on_loop``): what callers pass when they can, so that no coroutine
    ever exists in a thread that Ctrl-C can interrupt.

    In a thread that synchronaut offloaded from an event loop, the coroutine goes back
    to that loop (asyncio or Trio) while it is running. Otherwise it goes to the shared
    background loop -- except on the background loop's own thread, where it runs on a
    temporary loop in a new thread, so the call completes instead of deadlocking.
    """
    handed_over = False  # True once a callee below owns ``coro`` (closes it on failure)
    try:
        job = getattr(_current, "job", None)
        if job is not None and job.origin is not None:
            origin = job.origin
            if isinstance(origin, asyncio.AbstractEventLoop):
                if origin.is_running() and not origin.is_closed():
                    handed_over = True
                    return _run_on_loop(_loop._ForeignLoop(origin), coro, timeout, name)
            else:
                from . import _trio

                if callable(coro):
                    coro = coro()  # Trio takes a coroutine; the except below closes it
                handed_over = True
                return _trio._run_from_thread(origin, coro, timeout, name)
        if _loop._is_background_thread():
            spare = _loop._start_nested(
                "synchronaut: blocking call to %s made on the background loop's thread; "
                "running it on a temporary loop (await it instead to keep the loop free)",
                name,
            )
            try:
                handed_over = True
                return _run_on_loop(spare, coro, timeout, name)
            finally:
                spare.stop(timeout=None)
        for _ in range(_MAX_MOVES):
            # A call that reaches a background loop as it stops (shutdown() from
            # another thread, a stop nobody asked for, a stuck loop retired) and
            # never started there runs on the next one.
            host = _loop._get_background()
            handed_over = True
            outcome = _run_on_loop(host, coro, timeout, name, movable=True)
            if outcome is not _MOVED:
                return outcome
            handed_over = False  # given back untouched
        raise RuntimeError(
            f"cannot run {name}: synchronaut's background loop kept stopping before it "
            "could start it (is shutdown() called in a loop?)"
        )
    except BaseException:
        # Failed before anything took the coroutine (an interrupt while the
        # background loop starts, say): close it, so it is never left un-awaited.
        if not handed_over:
            _discard(coro)
        raise


def _acquire(lock: Any, timeout: float | None) -> bool:
    """``lock.acquire(timeout=timeout)``, in slices, so that Ctrl-C is never lost.

    CPython runs signal handlers between bytecodes, and wakes a thread blocked in a
    lock when a signal interrupts the wait. A SIGINT that lands just before the wait
    starts interrupts nothing: an unbounded ``acquire()`` would then sleep on with
    the KeyboardInterrupt pending, until the call returns -- perhaps never. A slice
    ends within a second, and the pending KeyboardInterrupt is raised. A timeout
    past ``TIMEOUT_MAX`` (about 292 years; OverflowError for a lock) is no timeout.
    """
    if timeout is None or timeout >= _TIMEOUT_MAX:
        while not lock.acquire(timeout=_LIVENESS_SLICE):
            pass
        return True
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return lock.acquire(blocking=False)
        if lock.acquire(timeout=min(remaining, _LIVENESS_SLICE)):
            return True


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
    try:
        # Inside the try: an interrupt (Ctrl-C) can land as _submit returns, the job
        # already queued; it must still be given up, so check_cancelled() tells it.
        _submit(executor if executor is not None else get_default_executor(), job)
        if not _acquire(lock, timeout):
            assert timeout is not None  # without one, _acquire waits until it gets it
            job.give_up(f"timed out after {timeout}s")
            raise _timeout_error(name, timeout)
    except BaseException as exc:
        if job.cancel_reason is None:
            job.give_up(f"was interrupted ({type(exc).__name__})")
        raise
    return job.outcome()


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
