"""The default executor for offloaded sync calls: created on first use, replaceable."""

from __future__ import annotations

import threading
from concurrent.futures import Executor

from ._fork import _ensure_fork_hook
from ._job import _Job, _submit
from ._pool import WorkerPool, default_worker_count

__all__ = ["get_default_executor", "set_default_executor"]

_lock = threading.Lock()
_default: Executor | None = None
_owned = False  # True when _default is the pool synchronaut created (and may shut down)


def get_default_executor() -> Executor:
    """Return the executor that offloaded sync calls use when ``executor=`` is not given.

    Unless replaced with :func:`set_default_executor`, it is a shared pool of daemon
    threads named ``synchronaut-worker-N``, sized like the standard library's default
    (``min(32, CPUs + 4)``), created on first use. Any thread may call this.
    """
    executor = _default
    if executor is not None:
        return executor
    return _create_default()


def _create_default() -> Executor:
    global _default, _owned
    with _lock:
        if _default is None:
            _ensure_fork_hook()
            _default = WorkerPool(default_worker_count(), thread_name_prefix="synchronaut-worker")
            _owned = True
        return _default


def set_default_executor(executor: Executor | None) -> None:
    """Make ``executor`` the default for offloaded sync calls (``None``: back to ours).

    The caller keeps ownership of ``executor``: synchronaut never shuts it down. The
    pool synchronaut created, if it is being replaced, is shut down without waiting
    (calls already running finish). Raises ``TypeError`` for anything that is not a
    ``concurrent.futures.Executor``.
    """
    global _default, _owned
    if executor is not None and not isinstance(executor, Executor):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"set_default_executor() takes a concurrent.futures.Executor or None, "
            f"got {executor!r} ({type(executor).__name__})"
        )
    with _lock:
        old, old_owned = _default, _owned
        _default, _owned = executor, False
    if old is not None and old_owned and old is not executor:
        old.shutdown(wait=False)


def _forget_after_fork() -> None:
    """In a forked child: the pool's threads did not survive the fork, so start afresh."""
    global _default, _owned, _lock
    _lock = threading.Lock()
    if _owned:
        _default, _owned = None, False


def _submit_to_default(job: _Job) -> None:
    """Hand ``job`` to the default executor, even while it is being replaced.

    ``set_default_executor()`` shuts our own pool down while other threads may be
    submitting to it: a submit that loses that race goes to the new default instead
    of failing. An executor the user set and then shut down still fails clearly.
    """
    while True:
        executor = get_default_executor()
        try:
            _submit(executor, job)
            return
        except RuntimeError:
            if get_default_executor() is executor:
                raise
