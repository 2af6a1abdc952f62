"""What the current thread is doing for synchronaut: the call it runs, the wait it is in.

One thread-local, read by every module that must know "where am I?": the offloaded
call this thread runs (for ``check_cancelled()``, loop affinity and cancellation
reaching nested waits), the bounded pool it is a worker of, and its innermost
synchronous wait with the inbox that wakes it (see ``_waits``). And one ContextVar,
``_nested_in``: the bounded pools that have a worker blocked, waiting, above the
current context -- work submitted from here to one of them is that worker's own
nested work, and gets a thread even past the pool's limit (see ``_pool``).
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


#: Bounded pools with a worker blocked in a wait above this context (see ``_pool``).
_nested_in: ContextVar[tuple[object, ...]] = ContextVar("synchronaut_nested_in", default=())
_INTERNAL.add(_nested_in)
