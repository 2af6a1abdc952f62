"""The default executor: a cache of daemon worker threads, each job handed to one worker.

Why not ``ThreadPoolExecutor``: its workers are joined at interpreter exit, so one
timed-out (abandoned) sync call that never returns would hang the process on exit;
every submission allocates a ``Future`` that synchronaut's own jobs do not need; and
a worker blocked in a nested call holds its place for good, so nesting deeper than
the pool deadlocks. This pool is a real ``concurrent.futures.Executor`` (``submit``,
``map``, ``shutdown``) built like Trio's thread cache:

- A worker is in one of three states: **busy** (running a job), **idle** (parked on
  its own lock in ``_idle``, waiting to be handed a job) or **gone**. A submitter
  hands a job to one idle worker directly, or starts a new worker with the job as
  its first, or -- only when ``max_workers`` are busy -- queues it in ``_backlog``,
  which busy workers drain before they go idle. So a job is never queued while a
  slot is free, and never waits with no thread coming for it.
- Every counter and list is changed under ``_lock`` only, by the thread that holds
  it; no state is shared with a lock-free queue.
- ``_active`` counts the busy workers holding one of the ``max_workers`` slots. A
  worker that blocks waiting for a nested call (sync code calling async code calling
  sync code...: see ``_waits``) *lends* its slot to the work it waits for
  (``_thread_state._Lender``): when the pool is full, the calls that work submits
  run on the lent slot, one at a time, on one more thread. Nesting of any depth thus
  completes -- the work a blocked worker waits for always has a slot -- while the
  threads stay within ``max_workers`` plus one per blocked worker; unrelated calls
  queue for the ordinary slots (a blocked worker keeps its own, even while the
  thread that ran its nested work sits idle: lending the slot to anyone would let
  a pool whose workers all block grow without bound). A call running on a lent slot
  that blocks in turn gives that slot back while it waits, for the siblings it may
  be waiting for. A queued entry can be taken by an ordinary slot or by a lent one
  it is nested under, whichever frees first (``_Queued.taken``).
- Ctrl-C reaches only the main thread, so of this code only ``submit``/``shutdown``
  can be interrupted, and only where CPython checks for signals: at a function's
  entry, after a call returns, on a loop's back edge. Each step that changes state
  is written so that an interrupt at any such point leaves it consistent
  (``tests/core/test_core_interrupt_points.py`` raises one at every such point). A
  submit that fails with an error of its own never runs its job (a thread that
  failed to start, or was interrupted while starting, gives its job back under the
  lock before anyone could take it); a Ctrl-C landing in ``submit`` after the job
  was accepted takes it back unless a worker already started it -- as after any
  call, an interrupt can come just after the work began.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
from _thread import allocate_lock
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from typing import Any, NamedTuple, ParamSpec, Protocol, TypeVar

from . import _fork
from ._thread_state import _Lender, _nested_in, _state
from ._validate import _check_seconds, _wait_limit

__all__ = ["WorkerPool"]

_logger = logging.getLogger("synchronaut")

P = ParamSpec("P")
T = TypeVar("T")

#: Seconds an idle worker waits for work before it exits, so a burst does not leave
#: threads behind for the life of the process.
_IDLE_SECONDS = 60.0
#: How long ``shutdown(wait=True)`` sleeps at a time, so that Ctrl-C is never lost.
_JOIN_SLICE = 1.0


class _Runnable(Protocol):
    def run(self) -> None: ...


class _Queued:
    """A job waiting for a slot: in ``_backlog``, and in the queues of the lent slots it
    may use; whoever takes it first marks it taken (the others skip it)."""

    __slots__ = ("job", "taken")

    def __init__(self, job: _Runnable) -> None:
        self.job = job
        self.taken = False


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

    def cancel(self) -> None:
        """Queued and never to run (``shutdown(cancel_futures=True)``)."""
        self.future.cancel()

    def fail(self, error: BaseException) -> None:
        """Accepted but never to run (its thread is gone): the future gets ``error``.

        Called in a forked child, where a thread that did not survive the fork may
        have held the future's lock: then the future is left as it is (waiting on it
        would block forever, but nobody in the child can be waiting yet).
        """
        future = self.future
        lock: Any = getattr(future, "_condition", None)
        if lock is not None:
            if not lock.acquire(blocking=False):
                return
            lock.release()
        if future.done():
            # Settled before the fork: a job that had just finished in a worker that
            # had not yet let go of it (set_running_or_notify_cancel would log a
            # CRITICAL "Future ... in unexpected state: FINISHED" in the child).
            return
        with contextlib.suppress(Exception):  # settled meanwhile
            if future.running() or future.set_running_or_notify_cancel():
                future.set_exception(error)


def default_worker_count() -> int:
    """The standard library's default pool size: ``min(32, CPUs + 4)``."""
    count: Callable[[], int | None] = getattr(os, "process_cpu_count", os.cpu_count)
    return min(32, (count() or 1) + 4)


#: Handed to a worker instead of a job: leave (shutdown), or never start (its
#: ``Thread.start()`` failed or was interrupted).
_STOP: Any = object()
_RETRACTED: Any = object()
#: Handed to a worker woken for the backlog's first job (see ``_assign``): it takes
#: that job itself, unless a worker that finished first took it.
_TAKE: Any = object()


class _Worker:
    """One worker thread and its handoff slot; fields change under the pool's lock."""

    __slots__ = ("epoch", "finished", "job", "lender", "pool", "released", "thread", "wake")

    def __init__(self, pool: WorkerPool, job: _Runnable, name: str) -> None:
        self.pool = pool
        # The job this worker owns: handed to it, or running (None while idle).
        self.job: Any = job
        # The lent slot that job runs on (None: one of the pool's own slots), and
        # whether the job gave it back while it waits in a nested call.
        self.lender: _Lender | None = None
        self.released = False
        # Locked while parked with nothing to do; released by the submitter that
        # hands this worker a job (trio's thread cache uses a lock the same way).
        self.wake = allocate_lock()
        self.wake.acquire()
        # Released when the thread ends (or never started): what shutdown waits on.
        self.finished = allocate_lock()
        self.finished.acquire()
        self.epoch = _fork._epoch
        self.thread = threading.Thread(target=pool._work, args=(self,), name=name, daemon=True)

    # --- the _Slot protocol, on this worker's own thread (see _waits) ----------

    def blocked(self) -> None:
        """This worker's call waits in a nested call: a lent slot goes back meanwhile."""
        self.pool._occupant_blocked(self)

    def unblocked(self) -> None:
        self.pool._occupant_unblocked(self)


class _PoolState(NamedTuple):
    """A consistent snapshot of a pool's bookkeeping (for tests and ``repr``)."""

    idle: int
    active: int
    workers: int
    backlog: int
    closed: bool


class WorkerPool(Executor):
    """A thread pool of daemon workers, started on demand and reaped when idle.

    Works as any ``concurrent.futures.Executor``. Workers are daemon threads named
    ``<prefix>-N``: work still running at interpreter exit is abandoned instead of
    blocking the exit. At most ``max_workers`` calls run at once, more wait in a
    FIFO -- except the calls that a worker blocked in a nested synchronaut call waits
    for (sync code waiting for async code that needs a thread of its own), which run
    at once, so nested calls of any depth complete. ``idle_timeout`` (seconds, or
    ``None`` for never) is how long an idle worker stays. Survives ``os.fork()``: the
    child starts its own workers, and calls the parent's threads were running fail
    there with ``RuntimeError`` instead of waiting forever.

    Raises ``TypeError``/``ValueError`` for a bad ``max_workers`` or ``idle_timeout``.
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
            # Checked here: a bad value would only fail inside a worker thread.
            _check_seconds(idle_timeout, "idle_timeout", infinite_ok=True)
        self._max_workers = max_workers
        self._prefix = thread_name_prefix or f"WorkerPool-{next(self._counter)}"
        self._idle_timeout = _wait_limit(idle_timeout)
        self._spawned = itertools.count(1)
        self._reset()
        _fork._track(self)

    def _reset(self) -> None:
        # Fresh bookkeeping: at creation, and in a forked child.
        self._lock = allocate_lock()
        self._idle: list[_Worker] = []  # parked workers, the most recently used last
        self._backlog: deque[_Queued] = deque()
        self._queued = 0  # entries of the backlog not taken yet
        self._active = 0
        self._workers: dict[_Worker, None] = {}  # every worker whose thread may run
        # Jobs ``shutdown(cancel_futures=True)`` took from the backlog and has not
        # cancelled yet: kept here until cancelled, so that a Ctrl-C in the middle of
        # it loses none (the next shutdown call, or a worker leaving, cancels them).
        self._doomed: deque[_Runnable] = deque()
        self._closed = False
        self._epoch = _fork._epoch

    @property
    def max_workers(self) -> int:
        """The most calls this pool runs at once, besides calls nested in blocked ones."""
        return self._max_workers

    # --- submitting (any thread; Ctrl-C can land here on the main thread) ---------

    def _run_job(self, job: _Runnable, lenders: Sequence[_Lender] = ()) -> None:
        """Run ``job.run()`` on a worker (synchronaut's own jobs: no ``Future``).

        ``lenders``: the slots lent by blocked workers of this pool that ``job`` is
        nested under, innermost first; when the pool is full it runs on one that is
        free, else waits for one of them or for an ordinary slot. Raises
        ``RuntimeError`` after shutdown, or if no thread could be started for it --
        and then the job never runs.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if self._active < self._max_workers:
                self._assign(job, None)
                return
            # The loops over the lenders run in frames of their own (see _free_lender).
            lender = _free_lender(lenders)
            if lender is not None:
                self._assign(job, lender)
                return
            entry = _Queued(job)
            # Counted before it is queued: an interrupt lands after a call, so after
            # the append it finds both done (counted after, a Ctrl-C right after the
            # append left a job queued uncounted, and _queued below zero once taken).
            self._queued += 1
            self._backlog.append(entry)
            _queue_for_lenders(entry, lenders)

    def _assign(self, job: _Runnable, lender: _Lender | None) -> None:
        # Under the lock: ``job`` takes a slot -- one of ours, or ``lender``'s.
        idle = self._idle
        if idle:
            if lender is None:
                # Not bound to the worker woken for it: the job goes to the back of
                # the backlog, and the worker parked last is woken to take the first
                # job there -- unless a busy worker finishing first takes it. A woken
                # thread may wait milliseconds for the GIL on a loaded server; a job
                # bound to it waited as long while jobs queued after it ran on the
                # workers that came free (twice the tail latency of the standard
                # library's pool, whose workers share one queue). The slot is counted
                # now (the woken worker gives it back if it finds nothing).
                entry = _Queued(job)
                worker = idle[-1]
                del idle[-1]
                worker.job = _TAKE
                self._active += 1
                # No call comes before the release, so an interrupt cannot split
                # the wake-up; the job is queued after it, still under the lock (the
                # woken worker cannot look before). A Ctrl-C right after the release
                # leaves the job out: the worker finds nothing and parks again, and
                # the interrupted submit never ran its job (see ``submit``). Counted
                # before the append, with no call between: a Ctrl-C after the append
                # finds the job queued and counted (see _run_job).
                worker.wake.release()
                self._queued += 1
                self._backlog.append(entry)
                return
            # A lent slot: the job is for this worker (the slot is lent to it).
            # No call comes before the release, so an interrupt cannot split the
            # handoff.
            worker = idle[-1]
            del idle[-1]
            worker.job = job
            worker.lender = lender
            lender.in_use += 1
            worker.wake.release()
            return
        self._start_worker(job, lender)

    def _start_worker(self, job: _Runnable, lender: _Lender | None) -> None:
        # Under the lock: the new thread takes its first job under the same lock, so
        # it cannot have taken it before a failed start gives it back.
        worker = _Worker(self, job, f"{self._prefix}-{next(self._spawned)}")
        worker.lender = lender
        try:
            worker.thread.start()
            if lender is None:
                self._active += 1
            else:
                lender.in_use += 1
            self._workers[worker] = None
        except BaseException:
            # "can't start new thread", or Ctrl-C inside Thread.start(): if the thread
            # runs after all, it finds nothing to do and ends.
            worker.job = _RETRACTED
            worker.finished.release()
            raise

    def _occupant_blocked(self, worker: _Worker) -> None:
        # On ``worker``'s thread, as its call starts waiting for a nested call. On one
        # of our own slots it keeps it (lent to its own nested work, see _Lender). On
        # a lent slot it gives it back for the time of the wait: the sibling it may be
        # waiting for (a producer, say) is queued for that very slot.
        with self._lock:
            lender = worker.lender
            if lender is None or worker.released or worker.epoch != self._epoch:
                return
            worker.released = True
            lender.in_use -= 1
            while lender.active and lender.in_use < 1:
                job = self._take(lender.queued)
                if job is None:
                    break
                try:
                    self._assign(job, lender)
                except RuntimeError:
                    # No thread to be had: the call waits for a slot to free instead.
                    self._requeue(job, lender)
                    _logger.warning("synchronaut: %r could not start a thread", self)
                    break

    def _occupant_unblocked(self, worker: _Worker) -> None:
        with self._lock:
            lender = worker.lender
            if lender is not None and worker.released and worker.epoch == self._epoch:
                worker.released = False
                lender.in_use += 1  # possibly over the slot's one: until one finishes

    def _requeue(self, job: _Runnable, lender: _Lender) -> None:
        # Under the lock: ``job`` (taken from the queues) waits again, first in line.
        entry = _Queued(job)
        self._backlog.appendleft(entry)
        lender.queued.appendleft(entry)
        self._queued += 1

    def _take(self, queue: deque[_Queued]) -> _Runnable | None:
        # Under the lock: the first entry of ``queue`` nobody has taken yet.
        while queue:
            entry = queue.popleft()
            if not entry.taken:
                entry.taken = True
                self._queued -= 1
                return entry.job
        return None

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` on a worker and return its ``Future``.

        Raises ``RuntimeError`` after shutdown or if no thread can be started (then
        ``fn`` never runs). Interrupted (Ctrl-C), the job is cancelled unless a worker
        already started it.
        """
        future: Future[T] = Future()
        try:
            self._run_job(_FutureItem(future, fn, args, kwargs))
        except BaseException:
            # Ctrl-C after the job was accepted: take it back (a worker that has not
            # started it skips a cancelled future), so a retry does not run it twice.
            future.cancel()
            raise
        return future

    # --- workers (their own threads; no signal ever lands here) -----------------

    def _work(self, worker: _Worker) -> None:
        _state.pool = self
        _state.slot = worker
        with self._lock:
            job = worker.job
            if job is _RETRACTED or worker.epoch != self._epoch:
                return  # our start failed (the submitter raised) or we forked away
        while job is not None:
            try:
                job.run()
            except BaseException:  # pragma: no cover - jobs report their own errors
                _logger.exception("synchronaut: a job raised inside a worker thread")
            job = None
            job = self._next_job(worker)

    def _next_job(self, worker: _Worker) -> _Runnable | None:
        """After a job: the next one to run, or None once this worker has left.

        ``worker.job`` always names the job the worker owns -- handed over, or running
        -- so that a forked child can fail it (see ``_after_fork_in_child``).
        """
        with self._lock:
            worker.job = None
            if worker.epoch != self._epoch:
                return None  # a forked child: this pool forgot us
            lender, worker.lender = worker.lender, None
            if lender is None:
                job = self._take(self._backlog)  # keep our slot for it
                if job is not None:
                    worker.job = job
                    return job
                self._active -= 1
            else:
                # A lent slot: the next call nested under it, if its lender still waits;
                # else, an ordinary slot if one is free. (This worker held none.)
                lender.in_use -= 1
                job = None
                if lender.active and lender.in_use < 1:
                    job = self._take(lender.queued)
                if job is not None:
                    lender.in_use += 1
                    worker.lender = lender
                    worker.job = job
                    return job
                if self._active < self._max_workers:
                    job = self._take(self._backlog)
                    if job is not None:
                        self._active += 1
                        worker.job = job
                        return job
            if self._closed:
                doomed = self._close_out(worker)
                if doomed is None:
                    return None
            else:
                self._idle.append(worker)
                doomed = None
        if doomed is not None:
            self._cancel_and_leave(worker, doomed)
            return None
        timeout = -1 if self._idle_timeout is None else self._idle_timeout
        while True:
            # Parked: a submitter (or shutdown) hands us a job and releases ``wake``.
            if not worker.wake.acquire(timeout=timeout):
                with self._lock:
                    if worker in self._idle:
                        # Nobody picked us: leave. (A submitter that picks us removes
                        # us from _idle under the lock first, so none can now.)
                        self._leave(worker)
                        return None
                # Picked just as we timed out: the job is ours, and ``wake`` was
                # released under the lock, so this returns at once.
                worker.wake.acquire()
            job = worker.job
            if job is _STOP:
                with self._lock:
                    job = self._close_out(worker)
                if job is not None:
                    self._cancel_and_leave(worker, job)
                return None
            if job is not _TAKE:
                return job  # for the slot lent to us (see _assign)
            # Woken for the first job of the backlog, on the slot counted for it.
            with self._lock:
                if worker.epoch != self._epoch:
                    return None  # a forked child: this pool forgot us
                job = self._take(self._backlog)
                if job is not None:
                    worker.job = job
                    return job
                # A worker that finished first took it (or the submit that woke us
                # was interrupted before it queued its job): give the slot back and
                # park again.
                worker.job = None
                self._active -= 1
                if not self._closed:
                    self._idle.append(worker)
                    continue
                job = self._close_out(worker)
            if job is not None:
                self._cancel_and_leave(worker, job)
            return None

    def _close_out(self, worker: _Worker) -> _Runnable | None:
        # Under the lock, on a worker leaving a shut-down pool: the next job that an
        # interrupted shutdown left to cancel (see _cancel_doomed), owned by the worker
        # until cancelled (a forked child fails it); else the worker leaves (None).
        if self._doomed:
            job = self._doomed.popleft()
            worker.job = job
            return job
        worker.job = None
        self._leave(worker)
        return None

    def _cancel_and_leave(self, worker: _Worker, job: _Runnable | None) -> None:
        # On the worker's thread, outside the lock (a future's callbacks may submit
        # to this pool). No signal lands on a worker: a job taken here is cancelled.
        while job is not None:
            _cancel(job)
            with self._lock:
                job = self._close_out(worker)

    def _leave(self, worker: _Worker) -> None:
        # Under the lock, on the worker's thread, as it ends.
        self._workers.pop(worker, None)
        if worker in self._idle:
            self._idle.remove(worker)
        worker.finished.release()

    # --- shutdown -----------------------------------------------------------------

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work; optionally cancel queued work and wait for the workers.

        Calls already running finish (threads cannot be killed); queued ones run
        first unless ``cancel_futures=True``, which cancels queued ``submit`` futures
        and fails queued internal jobs. ``wait=True`` returns once every worker has
        ended -- except when called from a worker of this pool, or from work that one
        of its workers is waiting for (a worker would then wait for itself): it then
        returns without waiting. Safe to call any number of times, from any thread.
        """
        with self._lock:
            self._closed = True
            # (Each loop in a frame of its own: see _free_lender.)
            if cancel_futures:
                self._doom_backlog()
            self._stop_idle()
            workers = list(self._workers)
        self._cancel_doomed()
        if wait and not self._called_from_within():
            for worker in workers:
                _wait_for(worker.finished)

    def _doom_backlog(self) -> None:
        # Under the lock (shutdown, cancel_futures=True). Each job goes from the
        # backlog to _doomed with no call in between: an interrupt (after a call, on
        # the loop's back edge) finds every job in one or the other. They are
        # cancelled outside the lock (a future's callbacks may submit to this pool).
        doomed = self._doomed
        for entry in self._backlog:
            if not entry.taken:
                entry.taken = True
                self._queued -= 1
                doomed.append(entry.job)
        self._backlog.clear()

    def _stop_idle(self) -> None:
        # Under the lock (shutdown): each idle worker leaves (and removes itself from
        # _idle); an interrupt between two leaves leaves the rest for the next call.
        idle = self._idle
        while idle:
            worker = idle[-1]
            del idle[-1]
            worker.job = _STOP
            worker.wake.release()

    def _cancel_doomed(self) -> None:
        # Any thread (Ctrl-C can land here): cancels the jobs in _doomed, each one
        # dropped from it only once cancelled. Interrupted, a job is left there for the
        # next shutdown call or a leaving worker, which may cancel it a second time:
        # harmless for both kinds of job (a cancelled future stays so; a failed _Job
        # is finished).
        doomed = self._doomed
        while True:
            with self._lock:
                if not doomed:
                    return
                job = doomed[0]
            _cancel(job)
            with self._lock:
                if doomed and doomed[0] is job:
                    doomed.popleft()

    def _called_from_within(self) -> bool:
        """Is this thread one of our workers, or running work a worker of ours waits for?

        Then waiting for every worker would wait for ourselves: a worker waiting, even
        through async code, for the very call that is shutting the pool down.
        """
        return _state.pool is self or any(lender.pool is self for lender in _nested_in.get())

    # --- fork and introspection -----------------------------------------------

    def _after_fork_in_child(self) -> None:
        # In a forked child: the workers' threads are gone (but perhaps this one, which
        # finishes its job and leaves). Calls they were running or had queued fail:
        # their callers are in this process too, and would wait forever.
        me = threading.current_thread()
        orphans: list[Any] = [
            w.job
            for w in self._workers
            if w.job is not None
            and w.job is not _STOP
            and w.job is not _TAKE
            and w.thread is not me
        ]
        orphans.extend(entry.job for entry in self._backlog if not entry.taken)
        orphans.extend(self._doomed)
        closed = self._closed
        self._reset()
        self._closed = closed
        error = RuntimeError(
            f"{self!r}: the process forked while this call was queued or running in a "
            "worker thread; it runs in the parent only"
        )
        for job in orphans:
            fail = getattr(job, "fail", None)
            if fail is not None:
                fail(error)

    def _snapshot(self) -> _PoolState:
        """The pool's counters, read together under its lock."""
        with self._lock:
            return _PoolState(
                len(self._idle), self._active, len(self._workers), self._queued, self._closed
            )

    def __repr__(self) -> str:
        state = "shut down" if self._closed else "running"
        return (
            f"<WorkerPool {self._prefix!r} {state}, "
            f"{len(self._workers)}/{self._max_workers} workers>"
        )


# Python 3.13 (CPython gh-130279): the back edge of some loops inside a ``with`` block
# -- a ``while`` whose test is repeated at the bottom, a ``for`` whose ``if`` body is
# skipped -- lies outside the block's exception table, so a Ctrl-C landing there
# (the eval loop checks for signals on back edges) leaves without ``__exit__``: a
# ``with self._lock:`` left the pool's lock held, and every worker and submitter
# then waited for it forever. The code that the main thread runs under the lock keeps
# its loops in functions of their own: an interrupt there leaves through the call,
# which the ``with`` covers (``test_core_found_pool_loop_under_lock`` checks it).
def _free_lender(lenders: Sequence[_Lender]) -> _Lender | None:
    # Under the pool's lock (_run_job): the first lent slot free for a nested call.
    for lender in lenders:
        if lender.active and lender.in_use < 1:
            return lender
    return None


def _queue_for_lenders(entry: _Queued, lenders: Sequence[_Lender]) -> None:
    # Under the pool's lock (_run_job): ``entry`` also waits for the lent slots.
    for lender in lenders:
        if lender.active:
            lender.queued.append(entry)


def _cancel(job: _Runnable) -> None:
    """A queued job that will never run: cancel it (``_FutureItem``, ``_Job``)."""
    cancel = getattr(job, "cancel", None)
    if cancel is not None:
        cancel()


def _wait_for(lock: Any) -> None:
    """Block until ``lock`` is released, in slices so Ctrl-C is never lost; leave it free."""
    while not lock.acquire(timeout=_JOIN_SLICE):
        pass
    lock.release()
