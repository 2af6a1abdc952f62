"""Re-arm after ``os.fork()``: a child inherits no threads, so it starts its own."""

from __future__ import annotations

import os

_registered = False


def _ensure_fork_hook() -> None:
    """Register the after-fork hook once (called when the first thread is started)."""
    global _registered
    if not _registered and hasattr(os, "register_at_fork"):
        _registered = True
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _after_fork_in_child() -> None:
    # Runs in the child right after fork, single-threaded. The background loop and
    # the default pool belong to threads that do not exist here: forget them (the
    # next call starts new ones) and replace locks a parent thread may have held.
    from . import _cancel, _executor, _loop, _sensitive

    _executor._forget_after_fork()
    _loop._forget_after_fork()
    _sensitive._forget_after_fork()
    # Forked from inside an offloaded sync call (multiprocessing's fork start method
    # called from a worker thread, say): this thread carries on in the child with
    # that call, whose caller -- an event loop or a Trio run in another thread -- did
    # not survive the fork. Coroutines it starts go to the child's own background
    # loop instead of waiting forever on a loop nobody runs, and nobody is told when
    # it returns. (The parent's copy of the call is untouched.)
    job = getattr(_cancel._current, "job", None)
    if job is not None:
        job.origin = None
        job.notify = _noop


def _noop() -> None:
    return None
