"""Thread-sensitive sync calls: all of them on one thread, the outermost sync caller's.

Sync ORMs and DB drivers tie connections to the thread that made them. A sync caller
blocked on a coroutine (see ``_blocking``) serves thread-sensitive calls on its own
thread while it waits; the coroutine's context carries that caller in ``_target``, so
any thread-sensitive sync call made below it -- however deep, from whichever task or
worker thread -- goes back to that thread. Without a blocked sync caller (a pure
async app) they go to one dedicated thread, or to the one a
``thread_sensitive_context()`` block gave its code.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

from ._cancel import _current
from ._context import _INTERNAL
from ._fork import _ensure_fork_hook
from ._job import _JobRunner
from ._pool import WorkerPool

__all__ = ["thread_sensitive_context"]

#: Where thread-sensitive sync calls made in this context run (None: the default).
_target: ContextVar[_JobRunner | WorkerPool | None] = ContextVar(
    "synchronaut_thread_sensitive_target", default=None
)
_INTERNAL.add(_target)

_lock = threading.Lock()
_default: WorkerPool | None = None


def _default_thread() -> WorkerPool:
    """The one dedicated thread for thread-sensitive calls with no sync caller."""
    global _default
    pool = _default
    if pool is None:
        with _lock:
            pool = _default
            if pool is None:
                _ensure_fork_hook()
                pool = _default = WorkerPool(
                    1, thread_name_prefix="synchronaut-sensitive", idle_timeout=None
                )
    return pool


def _sensitive_runner() -> _JobRunner | WorkerPool:
    """Where a thread-sensitive call made in the current context must run."""
    runner = _target.get()
    return runner if runner is not None else _default_thread()


def _runs_on_current_thread(runner: object) -> bool:
    """Is the current thread already the thread that ``runner`` runs calls on?"""
    job = getattr(_current, "job", None)
    return job is not None and getattr(job, "runner", None) is runner


def _forget_after_fork() -> None:
    global _default, _lock
    _lock = threading.Lock()
    _default = None


class _ThreadSensitiveContext:
    """``async with thread_sensitive_context():`` -- see the function's docstring."""

    __slots__ = ("_pool", "_token")

    def __init__(self) -> None:
        self._pool: WorkerPool | None = None
        self._token: Token[Any] | None = None

    async def __aenter__(self) -> None:
        if self._pool is not None:
            raise RuntimeError("thread_sensitive_context() objects are not reentrant")
        self._pool = WorkerPool(
            1, thread_name_prefix="synchronaut-sensitive-block", idle_timeout=None
        )
        self._token = _target.set(self._pool)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._pool is not None
        assert self._token is not None
        _target.reset(self._token)
        # Calls still queued (from tasks the block left running) finish first; new
        # ones are refused. The thread then exits.
        self._pool.shutdown(wait=False)


def thread_sensitive_context() -> _ThreadSensitiveContext:
    """Give a block of async code -- typically one request -- a thread of its own.

    ``async with thread_sensitive_context(): ...``: every thread-sensitive sync call
    made inside the block (and in tasks it starts) runs on one new dedicated thread,
    released when the block ends, instead of on the process-wide one. Works under
    asyncio and Trio. Each call returns a new, single-use context manager.
    """
    return _ThreadSensitiveContext()
