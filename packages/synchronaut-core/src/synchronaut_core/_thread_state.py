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
from _queue import SimpleQueue  # queue.SimpleQueue itself, without queue.py's imports
from collections import deque
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol

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


class _Slot(Protocol):
    """The place a worker thread's current call holds in a bounded pool.

    Given back for the time the thread waits in a nested call (``blocked``), taken
    again after (``unblocked``); see ``_Lender``. Called on the worker's own thread.
    """

    def blocked(self) -> None: ...
    def unblocked(self) -> None: ...


class _ThreadState(threading.local):
    # Class attributes are the defaults every thread starts with.
    #: The offloaded call this thread is running (set by ``_Job.run`` around the callee).
    job: _Job | None = None
    #: The bounded pool this thread is a worker of (a WorkerPool, or a Trio run's
    #: thread limiter), if it is one.
    pool: object = None
    #: The slot that pool gave this thread's current call (see ``_Slot``).
    slot: _Slot | None = None
    #: The innermost synchronous wait this thread is parked in (see ``_waits``).
    wait: _Wait | None = None
    #: Where completions and thread-sensitive jobs reach this thread while it waits;
    #: made on the thread's first wait, shared by the waits nested on it.
    inbox: _Inbox | None = None
    #: This thread's idle greenlets for inline calls (made on its first inline call).
    greenlets: list[Any] | None = None


_state = _ThreadState()


class _Lender:
    """A worker blocked in a wait, lending its one slot to the work it waits for.

    Made by the wait (see ``_waits``) when the waiting thread is a worker of a bounded
    pool -- a ``WorkerPool``, another thread executor, a Trio run's thread limiter --
    and named, after those of the waits around it, in ``_nested_in`` in the context
    the awaited work runs in. When the pool is full, the sync calls that work makes
    to it run on the lent slot, one at a time (``in_use``; ``queued``: those waiting
    for it) -- except that a call on the lent slot that blocks in a wait of its own
    gives the slot back while it waits (see ``_Slot``), so that a sibling it may be
    waiting for (a producer, for a consumer) runs. Nested calls of any depth
    complete; unrelated calls queue for the pool's own slots, so threads grow only
    with the calls nested under blocked workers that are blocked themselves. Only
    while the wait lasts (``active``).
    """

    __slots__ = ("active", "in_use", "limiter", "pool", "queued", "wait")

    def __init__(self, pool: object, wait: Any) -> None:
        self.pool = pool
        self.wait = wait
        self.active = True
        # WorkerPool: calls running on the lent slot and not blocked (0 or 1; the
        # pool's lock), and the entries waiting for it.
        self.in_use = 0
        self.queued: deque[Any] = deque()
        # Trio: a one-token limiter, the lent slot (made in the Trio thread).
        self.limiter: Any = None


#: The workers blocked in a wait above this context, outermost first (see _Lender).
_nested_in: ContextVar[tuple[_Lender, ...]] = ContextVar("synchronaut_nested_in", default=())
_INTERNAL.add(_nested_in)
