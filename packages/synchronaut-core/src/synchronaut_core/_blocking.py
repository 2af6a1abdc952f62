"""Sync callers that block: a coroutine run on a loop, a sync call run on another thread.

Each is a ``_Wait`` (see ``_waits``): published before the work is handed over,
serving the thread-sensitive calls made below it, interruptible, bounded, and
cancelled when the caller of this thread's own job gives up. Which loop or thread
runs the work is decided in ``_placement`` and ``_sensitive``.
"""

from __future__ import annotations

from _thread import get_ident
from collections.abc import Callable
from concurrent.futures import Executor
from contextvars import copy_context
from typing import Any

from . import _inline
from ._at_exit import _park_if_refused, _run_coroutine_here, _threads_refused
from ._job import _Job, _JobRunner
from ._loop_calls import _MOVED, _CoroOrMaker, _discard, _LoopCall
from ._placement import _preferred_host
from ._sensitive import _default_thread, _target
from ._thread_state import _state
from ._waits import _JobWait

#: How many stopping loops a call may move past before giving up (a bound, not a
#: figure anyone should reach: it takes a loop stopping before each try).
_MAX_MOVES = 20


def _block_on_coroutine(coro: _CoroOrMaker, timeout: float | None, name: str) -> Any:
    """Run ``coro`` to completion for a sync caller and return its value.

    ``coro`` may be a function making the coroutine, called on the loop's thread:
    what callers pass when they can, so that no coroutine ever exists in a thread
    that Ctrl-C can interrupt. The loop is chosen in ``_placement``: the loop that
    offloaded this thread's call (loop affinity), else the background loop -- or, if
    that loop's thread is itself waiting for this thread, another loop, so the call
    completes instead of deadlocking.
    """
    inline = _inline._inline_waiter(name)
    if inline is not None:
        # Inline code on a loop's own thread: blocking it would stall the loop that
        # must run the coroutine. The task driving the inline code awaits it instead.
        # (A loop that inline code itself runs is not hidden: its calls block as any.)
        return _inline._block(inline, coro, timeout, name)
    call: _LoopCall | None = None
    try:
        for _ in range(_MAX_MOVES):
            # A call that reaches a loop as it stops (shutdown() from another thread,
            # a stop nobody asked for, a stuck loop retired) and never started there
            # runs on the next one.
            try:
                host = _preferred_host()
            except RuntimeError as exc:
                if not _threads_refused(exc):
                    _park_if_refused(exc)  # a daemon thread at exit
                    raise
                # An atexit hook on Python 3.12, with no loop thread left to start.
                return _run_coroutine_here(coro, timeout, name)
            call = _LoopCall(host, coro, copy_context(), timeout, name, True)
            outcome = call.wait()
            if outcome is not _MOVED:
                return outcome
            call = None  # given back untouched: ours again
        raise RuntimeError(
            f"cannot run {name}: synchronaut's background loop kept stopping before it "
            "could start it (is shutdown() called in a loop?)"
        )
    except BaseException:
        # Whoever still holds the coroutine closes it, so it is never left un-awaited:
        # this frame if no call took it (an interrupt before the handover), else the
        # call, unless its loop took it to run.
        _discard(coro if call is None else call.take_back())
        raise


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
    inline = _inline._inline_waiter(name)
    if inline is not None:
        # Inline code: the task driving it awaits the offloaded call, so its loop
        # keeps serving while the thread works.
        return _inline._offload(inline, func, args, kwargs, timeout, executor, name)
    job = _Job(func, args, kwargs, copy_context(), name)
    return _JobWait(job, executor, timeout).wait()


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
    if _state.job is None:
        # Plain sync code synchronaut did not offload -- the main thread, a thread of
        # the user's, asgiref's or anyio's worker running a framework's sync view --
        # is its own outermost sync caller: what the call is sensitive to (a DB
        # connection, its open transaction) lives on this thread. Even when the
        # context it copied names another thread (a thread_sensitive_context() block
        # around a Django sync view): that thread has other connections.
        return func(*args, **kwargs)
    runner = _target.get()
    if runner is None:
        runner = _default_thread()
    if runner.ident == get_ident():
        return func(*args, **kwargs)
    return _call_in_executor_blocking(func, args, kwargs, timeout, runner, name)
