"""What the current thread is doing for synchronaut: the call it runs, the wait it is in.

One thread-local, read by every module that must know "where am I?": the offloaded
call this thread runs (for ``check_cancelled()``, loop affinity and cancellation
reaching nested waits), the bounded pool it is a worker of, and its innermost
synchronous wait with the inbox that wakes it (see ``_waits``). And one ContextVar,
``_nested_in``: the workers blocked, waiting, above the current context, each lending
its slot in its pool (a ``_Lender``) -- a sync call submitted from here to that pool
is the blocked worker's own nested work, and may run on the lent slot when the pool
is full (see ``_pool``).
"""

from __future__ import annotations

import threading
from collections import deque
from contextvars import ContextVar
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any

from ._context import _INTERNAL

if TYPE_CHECKING:
    from ._job import _Job
    from ._waits import _Wait


class _Inbox:
    """Where a waiting thread is woken, and receives the jobs it is to run meanwhile.

    ``jobs`` holds thread-sensitive jobs sent to the thread (see ``_waits``), taken in
    order by whichever of its waits is innermost; ``wake`` is what the thread sleeps
    on -- a token in it means "look again" (a job came, or some wait's work is done).
    Jobs are not kept in the queue the thread sleeps on, so that taking one is
    split from sleeping: a Ctrl-C landing as the thread wakes can never lose a job.
    """

    __slots__ = ("jobs", "wake")

    def __init__(self) -> None:
        self.jobs: deque[Any] = deque()
        self.wake: SimpleQueue[None] = SimpleQueue()

    def put_job(self, job: Any) -> None:
        """Any thread: queue ``job`` for the thread, and wake it."""
        self.jobs.append(job)
        self.wake.put(None)

    def poke(self) -> None:
        """Any thread: wake the thread to look again."""
        self.wake.put(None)


class _ThreadState(threading.local):
    # Class attributes are the defaults every thread starts with.
    #: The offloaded call this thread is running (set by ``_Job.run`` around the callee).
    job: _Job | None = None
    #: The bounded pool this thread is a worker of (a WorkerPool, or a Trio run's
    #: thread limiter), if it is one.
    pool: object = None
    #: The innermost synchronous wait this thread is parked in (see ``_waits``).
    wait: _Wait | None = None
    #: Where completions and thread-sensitive jobs reach this thread while it waits;
    #: made on the thread's first wait, shared by the waits nested on it.
    inbox: _Inbox | None = None


_state = _ThreadState()


class _Lender:
    """A worker blocked in a wait, lending its one slot to the work it waits for.

    Made by the wait (see ``_waits``) when the waiting thread is a worker of a bounded
    pool -- a ``WorkerPool``, another thread executor, a Trio run's thread limiter --
    and named, after those of the waits around it, in ``_nested_in`` in the context
    the awaited work runs in. When the pool is full, the sync calls that work makes
    to it run on the lent slot, one at a time (``busy``; ``queued``: those waiting
    for it): nested calls of any depth complete, and the threads stay within the
    pool's limit plus one per blocked worker. Only while the wait lasts (``active``).
    """

    __slots__ = ("active", "busy", "limiter", "pool", "queued", "wait")

    def __init__(self, pool: object, wait: Any) -> None:
        self.pool = pool
        self.wait = wait
        self.active = True
        # WorkerPool: the lent slot is in use / the entries waiting for it (its lock).
        self.busy = False
        self.queued: deque[Any] = deque()
        # Trio: a one-token limiter, the lent slot (made in the Trio thread).
        self.limiter: Any = None


#: The workers blocked in a wait above this context, outermost first (see _Lender).
_nested_in: ContextVar[tuple[_Lender, ...]] = ContextVar("synchronaut_nested_in", default=())
_INTERNAL.add(_nested_in)
