"""Thread-sensitive sync calls: all of them on one thread, chosen by the context.

Sync ORMs and DB drivers tie connections to the thread that made them. A sync caller
blocked on a coroutine serves thread-sensitive calls on its own thread while it waits
(see ``_loop_calls``): the coroutine's context names that call in ``_target``, so any
thread-sensitive sync call made below it -- however deep, from whichever task or
synchronaut worker thread -- goes back to that thread. Without a blocked sync caller
(a pure async app) they go to one dedicated thread, or to the one a
``thread_sensitive_context()`` block gave its code. A thread synchronaut did not
offload is its own sync caller: its thread-sensitive calls are direct calls.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

from ._context import _INTERNAL
from ._job import _JobRunner
from ._thread_pin import _ThreadPin

__all__ = ["thread_sensitive_context"]

#: Where thread-sensitive sync calls made in this context run (None: the default).
_target: ContextVar[_JobRunner | None] = ContextVar(
    "synchronaut_thread_sensitive_target", default=None
)
_INTERNAL.add(_target)

_lock = threading.Lock()
_default: _ThreadPin | None = None


def _default_thread() -> _ThreadPin:
    """The one dedicated thread for thread-sensitive calls with no sync caller."""
    global _default
    pin = _default
    if pin is None:
        with _lock:
            pin = _default
            if pin is None:
                pin = _default = _ThreadPin("synchronaut-sensitive-1")
    return pin


def _sensitive_runner() -> _JobRunner:
    """Where a thread-sensitive call made in the current context must run."""
    runner = _target.get()
    return runner if runner is not None else _default_thread()


def _forget_after_fork() -> None:
    global _default, _lock
    _lock = threading.Lock()
    _default = None


class _ThreadSensitiveContext:
    """``async with thread_sensitive_context():`` -- see the function's docstring."""

    __slots__ = ("_pin", "_token")

    def __init__(self) -> None:
        self._pin: _ThreadPin | None = None
        self._token: Token[Any] | None = None

    async def __aenter__(self) -> None:
        if self._pin is not None:
            raise RuntimeError("thread_sensitive_context() objects are not reentrant")
        self._pin = _ThreadPin(
            "synchronaut-sensitive-block-1",
            ended="the thread_sensitive_context() block it was made in has ended",
        )
        self._token = _target.set(self._pin)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._pin is not None
        assert self._token is not None
        _target.reset(self._token)
        # Calls already queued (from tasks the block left running) run first; later
        # ones are refused with a RuntimeError. The thread then ends.
        self._pin.release()


def thread_sensitive_context() -> _ThreadSensitiveContext:
    """Give a block of async code -- typically one request -- a thread of its own.

    ``async with thread_sensitive_context(): ...``: every thread-sensitive sync call
    made inside the block (and in tasks it starts) runs on one new dedicated thread,
    released when the block ends, instead of on the process-wide one; a task that
    outlives the block gets a ``RuntimeError`` for thread-sensitive calls made after
    it. Works under asyncio and Trio. Each call returns a new, single-use context
    manager.
    """
    return _ThreadSensitiveContext()
