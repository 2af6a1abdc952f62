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
    from . import _executor, _loop, _sensitive

    _executor._forget_after_fork()
    _loop._forget_after_fork()
    _sensitive._forget_after_fork()
