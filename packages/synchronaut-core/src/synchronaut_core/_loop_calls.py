"""A coroutine run on an event loop in another thread while a sync thread waits for it.

The waiting side is a ``_Wait`` (see ``_waits``: published, serving, interruptible,
bounded); this module adds what is particular to a coroutine: it becomes a task on
an asyncio loop, or a system task in a Trio run, in a copy of the caller's context;
the loop enforces ``timeout`` (and the waiter too, should the loop be stuck); and the
waiting thread is the *thread-sensitive window* of everything below the coroutine:
the coroutine's context names this call in ``_sensitive._target``, so any
thread-sensitive sync call made below it, from whichever task or worker thread,
comes back to the waiting thread's inbox and runs there.

Who owns the coroutine: whoever takes it out of ``coro`` under ``lock`` -- the loop's
thread to run it (``_start``), or the waiting thread to close it or run it elsewhere
(``take_back``). Exactly one of them gets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Coroutine
from contextvars import Context, copy_context
from typing import Any

from . import _fork, _loop, _placement
from ._context import _write_back
from ._errors import CallCancelled, _timeout_error
from ._hosts import _LoopHost
from ._sensitive import _target
from ._waits import (
    _LIVENESS_SLICE,
    _closes_cycle,
    _is_blocked,
    _mark_nested,
    _placing,
    _Wait,
)

_logger = logging.getLogger("synchronaut")

_EAGER_START = sys.version_info >= (3, 12)
_TASK_CONTEXT = sys.version_info >= (3, 11)

#: Past a deadline, how long the waiter leaves the loop to enforce it itself.
_ENFORCE_SLACK = 0.05
#: How long a loop may take to run a probe callback before it counts as stuck.
_STUCK_PROBE = 0.5
#: How often the waiter looks again while a deadline or a cancellation is overdue.
_PROBE_SLICE = 0.05
#: How long cancelled or timed-out work may take to finish (its ``finally`` blocks)
#: before the waiter stops waiting for it.
_CANCEL_GRACE = 5.0

#: What ``wait()`` returns when the call never started because its loop was stopping:
#: the caller still holds the coroutine, untouched, and runs it on a fresh loop.
_MOVED: Any = object()

#: A coroutine, or a function of no arguments making one (made on the loop's thread).
_CoroOrMaker = Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]]


def _discard(coro: _CoroOrMaker | None) -> None:
    """Drop a coroutine that will never run (closed: no "never awaited"), or its maker."""
    if coro is not None and not callable(coro):
        coro.close()


class _LoopCall(_Wait):
    """One coroutine run on ``host`` for the sync thread waiting in ``wait()``."""

    __slots__ = (
        "abandoned",
        "baseline",
        "cancel_requested",
        "coro",
        "ctx",
        "deadline",
        "error",
        "finished",
        "gone_at",
        "host",
        "inner",
        "movable",
        "moved",
        "placed",
        "probe_seen",
        "probe_sent",
        "scope",
        "spare",
        "stuck",
        "task",
        "timed_out",
        "timeout",
        "timer",
        "value",
    )

    def __init__(
        self,
        host: _LoopHost,
        coro: _CoroOrMaker,
        ctx: Context,
        timeout: float | None,
        name: str,
        movable: bool,
    ) -> None:
        super().__init__(name)
        self.host = host
        self.coro: _CoroOrMaker | None = coro
        # May the call run on another loop than ``host`` (before it starts)? A plain
        # call: yes. A step of an object bound to its loop (a pinned iterator): no.
        self.movable = movable
        self.moved = False
        # Is ``host`` where the call goes? Not yet for a movable call to our own
        # loop: ``_handover`` may move it (see ``target_thread``).
        self.placed = not (movable and isinstance(host, _loop._LoopThread))
        self.ctx = ctx
        # The waiting thread is the thread-sensitive thread of everything below the
        # coroutine (the sync caller's thread: see _sensitive). (_open_window(ctx),
        # inlined: a call less per blocking call.)
        ctx.run(_target.set, self)
        self.baseline = ctx.copy()
        self.timeout = timeout
        self.deadline: float | None = None
        # Loop-thread state: the task (asyncio) or cancel scope (Trio), its timer.
        self.task: asyncio.Task[Any] | None = None
        self.inner: Coroutine[Any, Any, Any] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.scope: Any = None
        self.cancel_requested = False
        # The outcome, written on the loop's thread before ``_complete``.
        self.value: Any = None
        self.error: BaseException | None = None
        self.finished = False  # the coroutine returned or raised by itself
        self.timed_out = False
        # Waiter-thread state.
        self.abandoned = False
        self.stuck = False
        self.probe_sent: float | None = None
        self.probe_seen = False
        self.gone_at: float | None = None
        self.spare: _loop._LoopThread | None = None

    # --- the waiting thread -----------------------------------------------------

    def target_thread(self) -> int | None:
        # The wait is published (``_enter``) before ``_handover`` picks the loop -- a
        # call from the background loop's own thread must see that thread blocked --
        # so between the two ``host`` may still name a loop the call will not go to
        # (a blocked background loop): another thread's cycle check must not follow
        # it there. Once placed, the call is on a loop that was not blocked, or bound.
        return self.host.ident if self.placed else None

    def _handover(self) -> None:
        host = self.host
        # Placing and cycle checks take turns (``_placing``): this wait is already
        # published, so of a movable call deciding "our loop is not blocked, go
        # there" and a bound call on that loop's thread deciding "no cycle", the
        # second to go sees the first -- the mover finds the loop blocked and moves,
        # or the bound caller finds the mover placed on its own thread and raises.
        with _placing:
            if self.movable and isinstance(host, _loop._LoopThread):
                if _is_blocked(host.ident):
                    # Synchronaut's own loop, parked in a synchronous wait: nothing
                    # scheduled there runs until that wait ends -- and the wait may
                    # (through coroutines awaiting offloaded calls, invisibly) be
                    # waiting for this very call. The coroutine is not bound to it:
                    # elsewhere (a spare loop is started under the lock: rare, and
                    # warned about).
                    host, self.spare = _placement._fallback_host(self.name)
                    self.host = host
            elif _closes_cycle(host.ident):
                # Bound to its loop (the loop that offloaded this thread's call, or
                # the one an async object lives on), whose thread waits, directly or
                # through others, for this thread: it would never run. (A loop that
                # is merely busy, or blocked in an unrelated call, is waited for.)
                raise RuntimeError(
                    f"cannot run {self.name}: the event loop it belongs to is blocked "
                    "waiting for this thread (a blocking call made on that loop's "
                    "thread), so it would never run; await it there instead of blocking"
                )
            self.placed = True
        if self.lender is not None:  # (tested here: only a pool's worker lends)
            _mark_nested(self.ctx, self.lender)
        if self.timeout is not None:
            self.deadline = time.monotonic() + self.timeout
        try:
            host.post(self._start)
        except RuntimeError as exc:  # the loop closed under us
            if host.exiting:
                _loop._park_if_exiting()
            if self.movable and self.take_back() is not None:
                self.moved = True
                self.done = True
                return
            raise RuntimeError(
                f"cannot run {self.name}: synchronaut's event loop is closed"
            ) from exc

    def take_back(self) -> _CoroOrMaker | None:
        """The coroutine (or maker), if the loop has not taken it to run; else None."""
        with self.lock:
            coro, self.coro = self.coro, None
        return coro

    def _next_slice(self) -> float:
        if self.caller_gone is not None:
            return _PROBE_SLICE
        deadline = self.deadline
        if deadline is None:
            return _LIVENESS_SLICE
        due = deadline + _ENFORCE_SLACK - time.monotonic()
        return min(_LIVENESS_SLICE, due) if due > 0 else _PROBE_SLICE

    def _check(self) -> None:
        host = self.host
        if host.exiting:
            return  # interpreter exit: stay parked until frozen (see _loop)
        if self.movable and (host.closing or not host.alive()) and self.take_back() is not None:
            # Queued behind a loop that takes no more calls (retired as stuck, or
            # stopped before it reached ours): run it elsewhere.
            self.moved = True
            self.done = True
            return
        if self.epoch != _fork._epoch:
            # Forked while we waited: the loop's thread stayed in the parent (it
            # cannot be this thread, which is waiting).
            raise RuntimeError(
                f"the process forked while {self.name} was running on an event loop of "
                "the parent's; it runs in the parent only"
            )
        if not host.alive():
            if self.caller_gone is not None:
                # Our caller gave up and its loop has gone since (asyncio.run ending,
                # say): that is what this code must hear, not the loop's end.
                raise CallCancelled(f"{self.caller_gone}; {self.name} was abandoned")
            raise RuntimeError(f"synchronaut's event loop stopped before {self.name} finished")
        now = time.monotonic()
        if self.caller_gone is not None:
            # Cancelled on its loop (see _cancel_work): let it run its cleanup.
            if self.gone_at is None:
                self.gone_at = now
            elif now - self.gone_at >= _CANCEL_GRACE:
                _logger.warning(
                    "synchronaut: %s did not finish within %ss of being cancelled; abandoned",
                    self.name,
                    _CANCEL_GRACE,
                )
                raise CallCancelled(f"{self.caller_gone}; {self.name} was abandoned")
            return
        deadline = self.deadline
        if deadline is None or now < deadline + _ENFORCE_SLACK:
            return
        # Past the deadline and the loop has not ended the call: is it turning?
        if self.probe_sent is None:
            self.probe_sent = now
            with contextlib.suppress(RuntimeError):  # closed: alive() says so next time
                host.post(self._probe)
            return
        if not self.probe_seen and now - self.probe_sent >= _STUCK_PROBE:
            # Something blocks the loop's thread (a coroutine calling time.sleep, a
            # blocking read): if it is the background loop, later calls go to a
            # fresh one instead of queueing behind it.
            self.stuck = True
            retired = _loop._retire_stuck(host)
            _logger.warning(
                "synchronaut: the event loop running %s did not enforce its %ss timeout "
                "(is something blocking the loop?); giving up on it%s",
                self.name,
                self.timeout,
                "; later calls go to a new loop" if retired else "",
            )
            raise _timeout_error(self.name, self.timeout)  # type: ignore[arg-type]
        if now >= deadline + _CANCEL_GRACE:
            _logger.warning(
                "synchronaut: %s ignored its cancellation at its %ss timeout; abandoned",
                self.name,
                self.timeout,
            )
            raise _timeout_error(self.name, self.timeout)  # type: ignore[arg-type]

    def _cancel_work(self) -> None:
        # Any thread: the caller of the job this thread runs gave up.
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to stop
            self.host.post(self._cancel_on_loop)

    def _abandon(self, exc: BaseException) -> None:
        # The waiter stops waiting (Ctrl-C, a dead or stuck loop): stop the coroutine
        # too -- close it here if the loop has not taken it, else cancel it there.
        self.abandoned = True
        coro = self.take_back()
        if coro is not None:
            _discard(coro)
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to stop
            self.host.post(self._cancel_on_loop)

    def _leave(self) -> None:
        super()._leave()
        spare, self.spare = self.spare, None
        if spare is not None:
            # Started for this call alone. A stuck one is not waited for: its thread
            # is a daemon, and stops itself if it ever turns again.
            spare.stop(timeout=0 if self.stuck or self.abandoned else 1.0)

    def _outcome(self) -> Any:
        # The loop's thread is done with this call (``done``): drop its contexts,
        # which name the call (``_target``, for the thread-sensitive window), so the
        # call and its contexts are freed by reference counting when the caller lets
        # go, not left to the cycle collector (six objects a call, and collections
        # that stop every thread while they run).
        ctx, baseline = self.ctx, self.baseline
        del self.ctx, self.baseline
        if self.moved:
            return _MOVED
        if self.finished:
            # The coroutine returned or raised by itself: its ContextVar changes
            # reach the caller, as with a direct call. (One that timed out or was
            # cancelled writes nothing back: the caller never got its result.)
            _write_back(ctx, baseline)
        error = self.error
        if error is not None:
            self.error = None  # no cycle: call -> error -> traceback -> this frame
            try:
                raise error
            finally:
                del error
        return self.value

    # --- on the loop's thread ---------------------------------------------------

    def _probe(self) -> None:
        self.probe_seen = True

    def _cancel_on_loop(self) -> None:
        self.cancel_requested = True
        if self.task is not None:
            self.task.cancel()
        elif self.scope is not None:
            self.scope.cancel()

    def _start(self) -> None:
        with self.lock:
            coro, self.coro = self.coro, None
            moved = coro is not None and self.movable and self.host.closing
        if moved:
            # The loop is stopping (shutdown(), a stop nobody asked for, a stuck loop
            # retired): the caller, which still holds the coroutine, runs it on a
            # fresh loop. Nothing has run, so nothing runs twice.
            self.moved = True
            self._complete()
            return
        if coro is None:
            return  # taken back by an interrupted caller (who closed it)
        if self.abandoned:
            _discard(coro)  # the caller left before we started: never run it
            return
        if self.caller_gone is not None:
            _discard(coro)
            self.error = CallCancelled(f"{self.caller_gone}; {self.name} was not started")
            self._complete()
            return
        if self.host.closing:
            # A call bound to this loop (a pinned iterator's next step, a loop-affine
            # call) reaching it after it began to stop: a task started now would miss
            # the cancel sweep of _finish_pending and race its shutdown_asyncgens (an
            # async generator "already running"). Refuse it.
            _discard(coro)
            if self.host.exiting:
                return  # leave the daemon caller parked (see _loop._LoopThread.exiting)
            self.error = RuntimeError(
                f"cannot run {self.name}: synchronaut's event loop "
                + ("was stopped" if self.host.stopped_unexpectedly else "is shutting down")
            )
            self._complete()
            return
        if callable(coro):
            # Made here, on the loop thread, which no signal interrupts: a Ctrl-C in
            # the caller's thread can never leave a coroutine made but not owned.
            try:
                coro = self.ctx.run(coro)
            except BaseException as exc:  # its arguments did not fit, say
                self.error = exc
                self.finished = True
                self._complete()
                return
        if self.host.kind == "trio":
            self._spawn_in_trio(coro)
        else:
            self._start_task(coro)

    # asyncio

    def _start_task(self, coro: Coroutine[Any, Any, Any]) -> None:
        loop: asyncio.AbstractEventLoop = self.host.loop  # pyright: ignore[reportAttributeAccessIssue]
        task: asyncio.Task[Any]
        guarded = _guarded(coro, self)
        self.inner = coro
        try:
            if _EAGER_START:
                # Runs the coroutine's first step right here: a call that finishes
                # without suspending costs no further loop iteration.
                task = asyncio.Task(guarded, loop=loop, context=self.ctx, eager_start=True)  # pyright: ignore[reportCallIssue]
            elif _TASK_CONTEXT:
                task = loop.create_task(guarded, context=self.ctx)  # pyright: ignore[reportCallIssue]
            else:
                # 3.10: a task copies the context it is created in, so the callee's
                # changes are captured from inside it (see _guarded).
                task = self.ctx.run(loop.create_task, guarded)
        except BaseException as exc:
            guarded.close()
            coro.close()
            self.error = exc
            self._complete()
            return
        if task.done():
            # (Dropped from this frame once read: should the task hold an exception,
            # its traceback holds _finish_task's frame, whose f_back is this one --
            # task -> exception -> traceback -> frames -> task, a cycle: see there.)
            try:
                self._finish_task(task)
            finally:
                del task
            return
        self.task = task
        if self.timeout is not None:
            self.timer = loop.call_later(self.timeout, self._expire)
        task.add_done_callback(self._finish_task)

    def _expire(self) -> None:
        self.timed_out = True
        if self.task is not None:
            self.task.cancel()

    def _finish_task(self, task: asyncio.Task[Any]) -> None:
        # The task is done. One cancelled before its first step (a loop stopping, a
        # caller interrupted, right after start) never ran _guarded, so the coroutine
        # it holds was never awaited: close it (a no-op for one that ran).
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
                self.finished = True
        except asyncio.CancelledError as exc:
            del task  # (see below)
            if self.host.exiting:
                return  # leave the daemon caller parked (see _loop._LoopThread.exiting)
            self.error = self._cancellation_error(exc)
        except BaseException as exc:
            # The task keeps its exception, whose traceback now holds this frame:
            # naming the task here would close a cycle (task -> exception ->
            # traceback -> this frame -> task) that outlives the call, and with it
            # everything the traceback holds (the caller's frames, this call).
            del task
            self.error = exc
            self.finished = True
        self._complete()

    def _cancellation_error(self, exc: BaseException | None) -> BaseException:
        # Why the coroutine was cancelled, as its waiting caller should hear it
        # (``exc``: the CancelledError that ended its task, if there is one).
        if self.caller_gone is not None:
            error: BaseException = CallCancelled(f"{self.caller_gone}; {self.name} was cancelled")
        elif self.timed_out:
            return _timeout_error(self.name, self.timeout)  # type: ignore[arg-type]
        elif self.host.stopped_unexpectedly:
            error = RuntimeError(
                f"synchronaut's event loop was stopped while {self.name} was running "
                "(did code running on it call loop.stop()?); the next call starts a new loop"
            )
        elif self.host.closing:
            error = RuntimeError(
                f"synchronaut's event loop was shut down while {self.name} was running"
            )
        elif exc is not None:
            return exc  # cancelled by someone else (another task, itself)
        else:  # pragma: no cover - only our own scope cancels a Trio call
            error = RuntimeError(f"{self.name} was cancelled")
        error.__cause__ = exc
        return error

    # Trio

    def _spawn_in_trio(self, coro: Coroutine[Any, Any, Any]) -> None:
        import trio

        try:
            # A system task, in the caller's context copy (used as it is, so the
            # callee's changes land there), outside every user nursery: it cannot be
            # cancelled by the code that happens to run the Trio thread.
            trio.lowlevel.spawn_system_task(self._trio_main, coro, context=self.ctx, name=self.name)
        except BaseException as exc:  # the run is shutting down
            coro.close()
            self.error = RuntimeError(f"cannot run {self.name}: the Trio run is finishing")
            self.error.__cause__ = exc
            self._complete()

    async def _trio_main(self, coro: Coroutine[Any, Any, Any]) -> None:
        # The system task. Never raises: an error out of a system task crashes the run.
        import trio

        scope = trio.CancelScope()
        if self.timeout is not None:
            scope.deadline = trio.current_time() + self.timeout
        self.scope = scope
        if self.cancel_requested:
            scope.cancel()
        try:
            with scope:
                value = await coro
        except trio.Cancelled as exc:
            # Not our scope's: the run is ending and cancels its system tasks (as it
            # does when the task whose call gave up on us was the last one).
            if self.caller_gone is not None:
                self.error = self._cancellation_error(exc)
            else:
                error = RuntimeError(f"the Trio run finished while {self.name} was running")
                error.__cause__ = exc
                self.error = error
        except BaseException as exc:
            self.error = exc
            self.finished = True
        else:
            if scope.cancelled_caught:
                self.timed_out = not self.cancel_requested
                self.error = self._cancellation_error(None)
            else:
                self.value = value
                self.finished = True
        finally:
            self.scope = None
            coro.close()
            self._complete()


async def _guarded(coro: Coroutine[Any, Any, Any], call: _LoopCall) -> Any:
    # Runs as the asyncio task, on the loop's thread.
    try:
        return await coro
    except (KeyboardInterrupt, SystemExit) as exc:
        # asyncio re-raises these out of the loop's run_forever(), which would kill
        # a loop other callers share: hand them to the blocked caller instead.
        call.error = exc
        call.finished = True
        return None
    finally:
        if not _TASK_CONTEXT:
            call.ctx = copy_context()


def _run_on(
    host: _LoopHost, coro: _CoroOrMaker, timeout: float | None, name: str, movable: bool
) -> Any:
    """Run ``coro`` on ``host`` in a copy of this thread's context; block for its outcome.

    Returns ``_MOVED`` if a movable call never started (its loop was stopping); the
    caller still owns ``coro`` then.
    """
    return _LoopCall(host, coro, copy_context(), timeout, name, movable).wait()
