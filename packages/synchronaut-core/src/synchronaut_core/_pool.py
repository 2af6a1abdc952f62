"""The default executor: a thread pool of daemon workers with a fast internal lane.

Why not ``ThreadPoolExecutor``: its workers are joined at interpreter exit, so one
timed-out (abandoned) sync call that never returns would hang the process on exit;
and every submission allocates a ``Future`` with a ``Condition`` that synchronaut's
own jobs do not need. This pool is a real ``concurrent.futures.Executor`` (``submit``,
``map``, ``shutdown``) whose workers are daemon threads, plus ``_run_job`` for
synchronaut's jobs, which carry their own outcome and cancellation flag.
"""

from __future__ import annotations

import itertools
import math
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, Protocol, TypeVar

__all__ = ["WorkerPool"]

P = ParamSpec("P")
T = TypeVar("T")

#: Seconds an idle worker waits for work before it exits, so a burst does not leave
#: threads behind for the life of the process.
_IDLE_SECONDS = 60.0


class _Runnable(Protocol):
    def run(self) -> None: ...


class _FutureItem:
    """A ``submit`` call: runs ``fn`` in a worker and settles its ``Future``."""

    __slots__ = ("args", "fn", "future", "kwargs")

    def __init__(self, future: Future[Any], fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def run(self) -> None:
        # Runs on a worker thread. A future cancelled while queued is skipped here.
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)


def default_worker_count() -> int:
    """The standard library's default pool size: ``min(32, CPUs + 4)``."""
    count: Callable[[], int | None] = getattr(os, "process_cpu_count", os.cpu_count)
    return min(32, (count() or 1) + 4)


class WorkerPool(Executor):
    """A thread pool of daemon workers, started on demand and reaped when idle.

    Works as any ``concurrent.futures.Executor``. Workers are daemon threads named
    ``<prefix>-N``: work still running at interpreter exit is abandoned instead of
    blocking the exit. At most ``max_workers`` calls run at once; more wait in a FIFO.
    """

    _counter = itertools.count(1)

    def __init__(
        self,
        max_workers: int | None = None,
        thread_name_prefix: str = "",
        *,
        idle_timeout: float | None = _IDLE_SECONDS,
    ) -> None:
        if max_workers is None:
            max_workers = default_worker_count()
        if isinstance(max_workers, bool) or not isinstance(max_workers, int):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"max_workers must be an int, got {max_workers!r}")
        if max_workers <= 0:
            raise ValueError(f"max_workers must be greater than 0, got {max_workers}")
        if idle_timeout is not None:
            # Checked here: a bad value would only fail inside a worker thread
            # (``queue.get(timeout=...)``), killing it with its queue unserved.
            if isinstance(idle_timeout, bool) or not isinstance(idle_timeout, (int, float)):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(
                    f"idle_timeout must be None or a number of seconds, got {idle_timeout!r}"
                )
            if not 0 < idle_timeout <= math.inf:  # also rejects NaN
                raise ValueError(
                    f"idle_timeout must be None or a positive number of seconds, "
                    f"got {idle_timeout!r}"
                )
            if idle_timeout >= threading.TIMEOUT_MAX:
                idle_timeout = None  # longer than a queue can wait: never reaped
        self._max_workers = max_workers
        self._prefix = thread_name_prefix or f"WorkerPool-{next(self._counter)}"
        # None keeps workers for the pool's life: a one-worker pool then always runs
        # its calls on the same thread (what thread-sensitive calls rely on).
        self._idle_timeout = idle_timeout
        self._queue: queue.SimpleQueue[_Runnable | None] = queue.SimpleQueue()
        # One token per worker parked in ``_queue.get``; a submit that takes one
        # knows a worker will pick its item up, so no thread needs starting. A C
        # queue, not a threading.Semaphore: submit runs on the caller's thread,
        # where Ctrl-C can land anywhere, and an interrupt inside the Python-level
        # Semaphore (between its Condition's acquire and the ``with`` taking hold)
        # leaves that lock held forever -- every later submit and worker hangs.
        self._idle: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._spawned = 0
        self._shutdown = False

    @property
    def max_workers(self) -> int:
        """The most calls this pool runs at once."""
        return self._max_workers

    def _run_job(self, job: _Runnable) -> None:
        """Queue ``job.run()`` for a worker (synchronaut's own jobs, no ``Future``)."""
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        self._queue.put(job)
        try:
            self._idle.get_nowait()  # claim an idle worker
        except queue.Empty:
            self._maybe_spawn()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` on a worker; raises RuntimeError after shutdown."""
        future: Future[T] = Future()
        self._run_job(_FutureItem(future, fn, args, kwargs))
        return future

    def _maybe_spawn(self) -> None:
        with self._lock:
            if self._shutdown or len(self._threads) >= self._max_workers:
                return
            self._spawned += 1
            thread = threading.Thread(
                target=self._worker, name=f"{self._prefix}-{self._spawned}", daemon=True
            )
            self._threads.add(thread)
        thread.start()

    def _worker(self) -> None:
        # Runs on a worker thread until shutdown, or until idle for _IDLE_SECONDS.
        get = self._queue.get
        idle = self._idle
        take_idle = idle.get_nowait
        try:
            while True:
                try:
                    item = get(timeout=self._idle_timeout)
                except queue.Empty:
                    # Leave only if no submitter has counted on this idle worker; if
                    # one has, its item is in the queue and this worker must take it.
                    try:
                        take_idle()
                    except queue.Empty:
                        continue
                    return
                if item is None:
                    self._queue.put(None)  # wake the next worker for shutdown too
                    return
                item.run()
                del item
                if self._shutdown:
                    continue
                idle.put(None)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work; optionally cancel queued work and wait for the workers.

        Calls already running finish (threads cannot be killed). With
        ``cancel_futures=True`` queued ``submit`` futures are cancelled and queued
        internal jobs are dropped.
        """
        with self._lock:
            self._shutdown = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _FutureItem):
                    item.future.cancel()
                elif item is not None:
                    cancel = getattr(item, "cancel", None)
                    if cancel is not None:
                        cancel()
        self._queue.put(None)
        if wait:
            current = threading.current_thread()
            for thread in threads:
                if thread is not current:
                    thread.join()

    def __repr__(self) -> str:
        state = "shut down" if self._shutdown else "running"
        return (
            f"<WorkerPool {self._prefix!r} {state}, "
            f"{len(self._threads)}/{self._max_workers} workers>"
        )
