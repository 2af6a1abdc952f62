"""Re-arm after ``os.fork()``: a child inherits no threads but the forking one.

Everything that owns threads (the background loop, the worker pools, the dedicated
threads) registers here; in the child each one forgets the threads that did not
survive, fails the calls only they could have finished, and starts afresh on its
next use. ``_epoch`` counts the forks this process descends from: objects made
before a fork (a waiting caller's thread-sensitive window, say) compare it to tell
that the thread they name is gone.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

#: Incremented in every child, right after the fork.
_epoch = 0

_registered = False


class _ForkAware(Protocol):
    def _after_fork_in_child(self) -> None: ...


#: Pools and dedicated threads alive in this process (weakly: they may be dropped).
_owners: weakref.WeakSet[_ForkAware] = weakref.WeakSet()


def _ensure_fork_hook() -> None:
    """Register the after-fork hook once (called when the first thread is started)."""
    global _registered
    if not _registered and hasattr(os, "register_at_fork"):
        _registered = True
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _track(owner: _ForkAware) -> None:
    """Have ``owner._after_fork_in_child()`` called in every child forked from now on."""
    _ensure_fork_hook()
    _owners.add(owner)


def _after_fork_in_child() -> None:
    # Runs in the child right after fork, on the forking thread, the only one left.
    global _epoch
    _epoch += 1
    from . import _executor, _loop, _sensitive, _waits
    from ._thread_state import _state

    _waits._forget_after_fork()
    _executor._forget_after_fork()
    _loop._forget_after_fork()
    _sensitive._forget_after_fork()
    for owner in list(_owners):
        owner._after_fork_in_child()
    # Forked from inside an offloaded sync call (multiprocessing's fork start method
    # called from a worker thread, say): this thread carries on in the child with
    # that call, whose caller -- an event loop or a Trio run in another thread -- did
    # not survive the fork. Coroutines it starts go to the child's own background
    # loop instead of waiting forever on a loop nobody runs, and nobody is told when
    # it returns. (The parent's copy of the call is untouched.)
    job = _state.job
    if job is not None:
        job.origin = None
        job.notify = _noop
        job.wait = None
    _state.slot = None


def _noop() -> None:
    return None
