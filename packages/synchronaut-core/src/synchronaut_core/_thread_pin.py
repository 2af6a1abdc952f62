"""One dedicated thread for the life of an object: jobs run there, one after another.

A sync generator, a sync context manager, a thread-sensitive DB connection: each must
stay on one thread. A ``_ThreadPin`` is that thread -- a daemon started on the first
job, running jobs in the order they come, ended by ``release()`` once the jobs queued
before it have run. It never lends itself out (unlike a pool worker, see ``_pool``):
a job blocked in a nested wait keeps the thread, and the jobs queued behind it wait,
because running them meanwhile on another thread is exactly what the pin forbids.
What the blocked job's own nested work needs of this thread reaches it through the
thread's inbox instead (see ``_waits`` and ``_sensitive``).
"""

from __future__ import annotations

import logging
import threading
from _thread import allocate_lock
from collections import deque

from . import _fork
from ._job import _Job, _JobRunner

_logger = logging.getLogger("synchronaut")


class _ThreadPin(_JobRunner):
    """A single daemon thread named ``name`` that runs the jobs it is given, in order.

    ``_jobs``, ``_running``, ``_parked`` and ``_closed`` change under ``_lock`` only;
    the thread parks on ``_wake`` (locked while it sleeps) when it has nothing to do.
    """

    __slots__ = (
        "__weakref__",
        "_closed",
        "_ended",
        "_jobs",
        "_lock",
        "_name",
        "_parked",
        "_running",
        "_thread",
        "_wake",
    )

    def __init__(self, name: str, ended: str = "its dedicated thread was released") -> None:
        self._name = name
        # Says why a job arriving after release() is refused.
        self._ended = ended
        self._reset()
        _fork._track(self)

    def _reset(self) -> None:
        self._lock = allocate_lock()
        self._wake = allocate_lock()
        self._wake.acquire()
        self._jobs: deque[_Job] = deque()
        self._thread: threading.Thread | None = None
        self._running: _Job | None = None
        self._parked = False
        self._closed = False

    @property
    def ident(self) -> int | None:
        """The thread's ident once it runs (None before the first job)."""
        thread = self._thread
        return None if thread is None else thread.ident

    def _run_job(self, job: _Job) -> None:
        """Queue ``job`` for the thread (any thread); RuntimeError once released."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"cannot run {job.name}: {self._ended}")
            if self._thread is None:
                # Started under the lock: the thread takes the lock before it serves,
                # so if start() raised (no thread to be had, or Ctrl-C inside it) a
                # thread that did start sees it is not ours and ends.
                thread = threading.Thread(target=self._main, name=self._name, daemon=True)
                thread.start()
                self._thread = thread
            self._jobs.append(job)
            self._wake_if_parked()

    def release(self) -> None:
        """No more jobs: the thread ends once those already queued have run (any thread)."""
        with self._lock:
            self._closed = True
            self._wake_if_parked()

    def _wake_if_parked(self) -> None:
        # Under the lock.
        if self._parked:
            self._parked = False
            self._wake.release()

    def _main(self) -> None:
        # The pinned thread, for its whole life.
        me = threading.current_thread()
        epoch = _fork._epoch
        while True:
            with self._lock:
                if self._thread is not me or epoch != _fork._epoch:
                    return  # not ours (a failed start), or a forked child forgot us
                if self._jobs:
                    job = self._running = self._jobs.popleft()
                elif self._closed:
                    return
                else:
                    self._parked = True
                    job = None
            if job is None:
                self._wake.acquire()  # released by _wake_if_parked
                continue
            try:
                job.run()
            except BaseException:  # pragma: no cover - jobs report their own errors
                _logger.exception("synchronaut: a job raised on %s", self._name)
            with self._lock:
                self._running = None
            del job

    def _after_fork_in_child(self) -> None:
        # The thread is gone (unless it is this one, which finishes its job and ends):
        # what it was running or had queued fails, and the next job starts a new one.
        orphans: list[_Job] = list(self._jobs)
        running = self._running
        if running is not None and self._thread is not threading.current_thread():
            orphans.append(running)
        closed = self._closed
        self._reset()
        self._closed = closed
        error = RuntimeError(
            f"the process forked while this call was queued or running on {self._name}; "
            "it runs in the parent only"
        )
        for job in orphans:
            job.fail(error)

    def __repr__(self) -> str:
        state = "released" if self._closed else "running" if self._thread else "not started"
        return f"<dedicated thread {self._name} ({state})>"
