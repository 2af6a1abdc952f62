"""Synchronous waits: the one place where a thread blocks until another thread acts.

Every blocking call synchronaut makes -- sync code waiting for a coroutine on an event
loop, for a sync call in an executor, for a step of an async generator -- parks its
thread in a ``_Wait``. Waiting one way everywhere is what keeps the library free of
deadlocks by construction. The rule: **a thread that blocks waiting for work never
holds a resource that this work needs.**

- *Who waits on whom is known.* A wait publishes itself in ``_blocked`` (thread ->
  its innermost wait) before any work is handed over, and ``target_thread()`` names
  the thread that must act next. Before work is scheduled onto a loop, or a thread is
  joined, ``_closes_cycle`` follows that chain: if it leads back to the current
  thread, the work goes elsewhere (a movable call: another loop) or is refused with
  an error that says why (work bound to that loop). So no work waits on a loop whose
  thread waits, directly or through others, on the waiter.
- *A blocked thread serves.* Its inbox receives the thread-sensitive calls made below
  the coroutine it waits for (see ``_loop_calls``), and it runs them while it waits;
  nested waits on one thread share the inbox.
- *A blocked worker lends its slot to its own work.* When a worker of a bounded pool
  (our pool, another thread executor, a Trio run's thread limiter) waits, the work
  it waits for is marked, in its context, with a ``_thread_state._Lender``: the sync
  calls that work submits to the same pool run on the lent slot when the pool is
  full, instead of queueing behind the blocked workers (see ``_pool``, ``_job``,
  ``_trio``).
- *Waits are bounded and interruptible.* A wait sleeps a second at most at a time,
  so a Ctrl-C that lands just before it starts is raised within a second; it checks
  that the other side is alive, and enforces its deadline itself when the other
  side cannot.
- *Cancellation flows down.* When the caller of the job this thread runs gives up,
  the job's current wait is cancelled: its work is cancelled too, and the waiting
  code gets ``CallCancelled``.
"""

from __future__ import annotations

import time
from _queue import Empty  # queue.Empty itself; queue.py would import more
from _thread import allocate_lock, get_ident
from contextvars import Context
from typing import Any

from . import _fork
from ._errors import CallCancelled, _timeout_error
from ._executor import _submit_to_default
from ._job import _Job, _JobRunner, _noop, _Offer, _submit
from ._sensitive import _default_thread, _sensitive_runner, _target
from ._thread_state import _Inbox, _Lender, _nested_in, _Slot, _state

#: Longest sleep of a wait: how soon a Ctrl-C that landed just before it is raised,
#: and how often it checks that the other side is alive.
_LIVENESS_SLICE = 1.0
#: A bound on the chain of waits followed by ``_closes_cycle`` (nobody nests this deep).
_MAX_CHAIN = 100_000

#: thread ident -> the innermost wait that thread is parked in. Written only by the
#: thread itself (entering and leaving its waits), read by any thread.
_blocked: dict[int, _Wait] = {}
#: Held while a loop call decides where it goes, or whether it closes a cycle (see
#: ``_loop_calls._LoopCall._handover``): the two decisions read each other's waits.
_placing = allocate_lock()


def _is_blocked(ident: int | None) -> bool:
    """Is thread ``ident`` parked in a synchronous wait (so its loop, if any, is stalled)?"""
    return ident is not None and ident in _blocked


def _closes_cycle(ident: int | None) -> bool:
    """Would this thread, by waiting on thread ``ident``, end up waiting on itself?

    Follows the waits from ``ident``: the thread it waits on, the one that one waits
    on, ... True if the chain comes back here. False once it reaches a thread that
    is not waiting (it will act), or work that no thread runs yet (``None``: a queued
    job: a blocked worker's nested work can always use the slot it lends, other
    queued work gets one when a running worker finishes).
    """
    me = get_ident()
    for _ in range(_MAX_CHAIN):
        if ident is None:
            return False
        if ident == me:
            return True
        wait = _blocked.get(ident)
        if wait is None:
            return False
        ident = wait.target_thread()
    return False  # pragma: no cover - a chain that long is not a program


class _Wait(_JobRunner):
    """One synchronous wait of the current thread for work done by another thread.

    Subclasses say how the work is handed over, what to check when nothing happens
    for a while, and how to stop the work; ``wait()`` is the same for all. Any thread
    may call ``_complete`` (the work is done), ``cancel_from_caller`` and ``_run_job``;
    everything else runs on the waiting thread.

    A wait is also a *thread-sensitive window* (a ``_JobRunner``): named as
    ``_sensitive._target`` in the context the awaited work runs in, it brings the
    thread-sensitive calls made below that work to the waiting thread, which runs them
    while it waits (see ``_open_window``).
    """

    __slots__ = (
        "caller_gone",
        "done",
        "epoch",
        "ident",
        "inbox",
        "job",
        "lender",
        "lock",
        "name",
        "open",
        "outer",
        "serving",
        "slot",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = allocate_lock()
        # The thread-sensitive window: open while the caller waits (see _run_job).
        self.open = True
        self.epoch = _fork._epoch
        # Set, then the inbox is poked, by whoever finishes the work (any thread).
        self.done = False
        # Why the caller of the job this thread runs gave up, once it did.
        self.caller_gone: str | None = None
        self.ident: int | None = None
        self.inbox: _Inbox | None = None
        # The thread-sensitive job this wait is running right now (see _park).
        self.serving: _Job | None = None
        self.outer: _Wait | None = None
        self.job: _Job | None = None
        # The slot the waiting thread lends, when it is a worker of a bounded pool;
        # and the slot its own call holds, given back while it waits (_Slot).
        self.lender: _Lender | None = None
        self.slot: _Slot | None = None

    # --- what subclasses provide ------------------------------------------------

    def target_thread(self) -> int | None:
        """The thread that must act for this wait to end (None: none yet)."""
        return None

    def _handover(self) -> None:
        """Start the work (on the waiting thread). Raising: nothing was started."""
        raise NotImplementedError

    def _next_slice(self) -> float:
        """Seconds to sleep before ``_check`` is due."""
        return _LIVENESS_SLICE

    def _check(self) -> None:
        """Nothing came for a while, or the caller is gone: liveness, deadline, ..."""

    def _cancel_work(self) -> None:
        """The caller of this thread's job gave up (any thread): stop the work. No raise."""

    def _abandon(self, exc: BaseException) -> None:
        """The waiter stops waiting (``exc``: an interrupt, an error): stop the work."""

    def _outcome(self) -> Any:
        """The value (or raise the error) once the work is done, on the waiting thread."""
        raise NotImplementedError

    # --- the wait itself --------------------------------------------------------

    def wait(self) -> Any:
        """Hand the work over, park until it is done, return its outcome (or raise it)."""
        state = _state
        try:
            self._enter()
            self._handover()
            self._park()
        except BaseException as exc:
            self._abandon(exc)
            raise
        finally:
            # Unpublished right here, with no call before the last store: a Ctrl-C can
            # land on the entry of any function (``_leave`` included), and this thread
            # must never stay listed as waiting, nor keep a window open, once it is not.
            self.open = False
            if state.wait is self:
                outer = state.wait = self.outer
                if outer is None:
                    del _blocked[self.ident]  # type: ignore[arg-type]
                else:
                    _blocked[self.ident] = outer  # type: ignore[index]
            try:
                self._leave()  # (ends handing over the jobs: see _hand_over_jobs)
            except BaseException:
                # Again, should a Ctrl-C have cut ``_leave`` short: no job handed to
                # this thread may be left where nobody will run it.
                self._hand_over_jobs()
                raise
        return self._outcome()

    def _open_window(self, ctx: Context) -> None:
        """Bring the thread-sensitive calls made in ``ctx`` to this waiting thread."""
        ctx.run(_target.set, self)

    def _take_nested(self, job: _Offer) -> bool:
        """Any thread: run ``job`` here, on the waiting thread, if it still waits.

        For a worker of an executor we cannot see into (a ``ThreadPoolExecutor``...):
        the work it waits for calls back into that executor, which may be full of
        workers like this one -- so this one runs it (if the executor does not take
        it first: ``_job._Offer``), instead of sitting idle.
        """
        with self.lock:
            inbox = self.inbox
            if self.open and inbox is not None and self.epoch == _fork._epoch:
                inbox.put_job(job)
                return True
        return False

    def _run_job(self, job: _Job) -> None:
        # Any thread: a thread-sensitive sync call made below the awaited work. To the
        # waiting thread's inbox while it waits; once it has moved on (a task outlived
        # the call that started it), or in a forked child, the process-wide thread.
        with self.lock:
            inbox = self.inbox
            if self.open and inbox is not None and self.epoch == _fork._epoch:
                inbox.put_job(job)
                return
        _reroute(job)

    def _complete(self) -> None:
        """The work is done (any thread): wake the waiter."""
        self.done = True
        inbox = self.inbox
        if inbox is not None:
            inbox.wake.put(None)  # inbox.poke(), one call less on the loop's thread

    def cancel_from_caller(self, reason: str) -> None:
        """The caller of the job this thread runs gave up (any thread; see ``_Job.give_up``)."""
        if self.caller_gone is None and not self.done:
            self.caller_gone = reason
            self._cancel_work()
            inbox = self.inbox
            if inbox is not None:
                inbox.poke()

    def _enter(self) -> None:
        # On the waiting thread. An interrupt can land after any call here, so
        # ``_leave`` undoes exactly what was done; the publishing block between the
        # two comments makes no call, so an interrupt cannot split it.
        state = _state
        ident = get_ident()
        inbox = state.inbox
        if inbox is None:
            inbox = state.inbox = _Inbox()
        job = state.job
        # -- publish (no call)
        self.inbox = inbox
        self.outer = state.wait
        state.wait = self
        _blocked[ident] = self
        self.ident = ident
        self.job = job
        if job is not None:
            job.wait = self
        # -- published
        pool = state.pool
        if pool is not None:
            self.lender = _Lender(pool, self)
            slot = state.slot
            if slot is not None and self.outer is None:
                # A worker thread (never the main thread: no interrupt lands here).
                self.slot = slot
                slot.blocked()
        if job is not None and job.cancel_reason is not None:
            # Its caller gave up before this wait began (give_up saw no wait yet).
            raise CallCancelled(
                f"the caller of {job.name} {job.cancel_reason}; {self.name} was not started"
            )

    def _park(self) -> None:
        # On the waiting thread: sleep on the inbox, running the jobs it brings.
        inbox = self.inbox
        assert inbox is not None
        jobs = inbox.jobs
        sleep = inbox.wake.get
        while not self.done:
            if jobs:
                # Taken with no call in between, so an interrupt cannot lose it: it is
                # in the queue until ``serving`` names it (see ``_settle_serving``).
                job = jobs[0]
                del jobs[0]
                self.serving = job
                job.run()  # on this thread: the thread-sensitive thread for it
                self.serving = None
                continue
            try:
                sleep(timeout=self._next_slice())
            except Empty:
                self._check()
                continue
            # A job came (taken above), this or an outer wait's work is done (its
            # ``done`` is set), or the caller gave up.
            if self.caller_gone is not None and not self.done:
                self._check()

    def _settle_serving(self) -> None:
        # Interrupted while running a thread-sensitive job (a Ctrl-C on this main
        # thread): its caller must still hear. Not started: it runs on the
        # process-wide thread instead; started: it ran, so its outcome is delivered
        # (a Ctrl-C inside the callee itself is its outcome).
        job = self.serving
        if job is not None:
            if job.started:
                job.deliver()
            elif not isinstance(job, _Offer):  # (an offer: its executor runs it)
                _reroute(job)  # (twice, if interrupted and redone: it runs once)
            self.serving = None

    def _leave(self) -> None:
        # After ``wait`` unpublished this wait (see there): the rest of the tidying.
        if self.ident is None:
            return  # interrupted before anything was published
        job = self.job
        if job is not None and job.wait is self:
            job.wait = None
        lender = self.lender
        if lender is not None:
            lender.active = False
            # It outlives this wait in the contexts of the work (``_nested_in``): no
            # link back, so this wait and what it holds are freed by reference
            # counting (wait -> lender -> wait is a cycle). Read once by _submit,
            # which copes with None.
            lender.wait = None
        slot, self.slot = self.slot, None
        if slot is not None:
            slot.unblocked()
        self._hand_over_jobs()

    def _hand_over_jobs(self) -> None:
        """The jobs this thread was given to run and will not: to whoever runs them now.

        The job it was serving when interrupted (see ``_settle_serving``); and, once its
        outermost wait is over, those still queued (see ``_drain``). Idempotent.
        """
        if self.ident is None:
            return
        if self.serving is not None:  # (tested here: a call less on every wait)
            self._settle_serving()
        with self.lock:
            pass  # a _run_job that saw the window open has put its job by now
        inbox = self.inbox
        if inbox is not None and inbox.jobs and self.outer is None and _state.wait is None:
            _drain(inbox)


def _mark_nested(ctx: Context, lender: _Lender | None) -> None:
    """In ``ctx`` (where the awaited work runs), name the slot the waiting worker lends."""
    if lender is not None:
        ctx.run(_nested_in.set, (*ctx.get(_nested_in, ()), lender))


def _drain(inbox: _Inbox) -> None:
    """After a thread's outermost wait: no wait is left to serve what is still queued.

    A thread-sensitive job sent just before its window closed runs on the
    process-wide thread-sensitive thread instead.
    """
    jobs = inbox.jobs
    while jobs:
        job = jobs[0]
        if not isinstance(job, _Offer):  # (an offer: its executor runs it)
            _reroute(job)  # (twice, if interrupted and redone: it runs once)
        del jobs[0]


def _reroute(job: _Job) -> None:
    """``job`` cannot run on the thread it was sent to: the process-wide one runs it."""
    fallback = _default_thread()
    job.runner = fallback
    fallback._run_job(job)


class _JobWait(_Wait):
    """A sync call run by an executor (or a dedicated thread) while this thread waits.

    The waiter enforces ``timeout`` itself: past it the call is abandoned (a thread
    cannot be killed; ``check_cancelled()`` tells it) and ``CallAnyTimeout`` raised.
    """

    __slots__ = ("deadline", "executor", "timeout", "window", "work")

    def __init__(self, job: _Job, executor: Any, timeout: float | None) -> None:
        # ``executor`` None: the default one, whichever it is when the job is handed over.
        super().__init__(job.name)
        self.work = job
        self.executor: Any = executor
        self.timeout = timeout
        self.deadline: float | None = None
        # Did _handover name this wait in the job's context (``_target``)?
        self.window = False

    def target_thread(self) -> int | None:
        return self.work.thread

    def _handover(self) -> None:
        job = self.work
        job.notify = self._complete
        _mark_nested(job.ctx, self.lender)
        if _sensitive_runner().ident == self.ident:
            # This thread is where thread-sensitive calls made here run (a dedicated
            # thread-sensitive thread, or a waiting caller serving them): those the
            # awaited call makes must come back here too, not queue behind us.
            self._open_window(job.ctx)
            self.window = True
        if self.timeout is not None:
            self.deadline = time.monotonic() + self.timeout
        if self.executor is None:
            _submit_to_default(job)
        else:
            _submit(self.executor, job)

    def _next_slice(self) -> float:
        deadline = self.deadline
        if deadline is None:
            return _LIVENESS_SLICE
        return max(0.0, min(_LIVENESS_SLICE, deadline - time.monotonic()))

    def _check(self) -> None:
        if self.caller_gone is not None:
            # The sync call cannot be stopped (it was told: check_cancelled()); the
            # code waiting for it can, and unwinds from here.
            raise CallCancelled(f"{self.caller_gone}; {self.name} was abandoned")
        if self.epoch != _fork._epoch and not self.done:
            # The process forked while we waited, and the call's thread did not come
            # along (a thread of another executor, which nobody fails for us).
            raise RuntimeError(
                f"the process forked while {self.name} was running or queued in another "
                "thread; it runs in the parent only"
            )
        deadline = self.deadline
        if deadline is not None and time.monotonic() >= deadline:
            assert self.timeout is not None
            self.work.give_up(f"timed out after {self.timeout}s")
            raise _timeout_error(self.name, self.timeout)

    def _cancel_work(self) -> None:
        self.work.give_up(f"was cancelled ({self.caller_gone})")

    def _abandon(self, exc: BaseException) -> None:
        job = self.work
        if job.cancel_reason is None:
            job.give_up(f"was interrupted ({type(exc).__name__})")
        # Given up (a timeout, a cancellation, Ctrl-C): the job tells nobody now
        # (``deliver`` and ``fail`` skip ``notify`` once ``cancel_reason`` is set),
        # and this waiter has left. Unhooked as in ``_outcome``: a timed-out call
        # otherwise left job -> notify -> this wait -> job to the cycle collector.
        job.notify = _noop
        if self.window and job.finished:
            # It finished as we gave up, and was told before our ``cancel_reason``
            # (so ``deliver`` kept its context): its context names this wait (see
            # _outcome), and nobody reads it now -- its call has run (``finished``
            # is set only once it has, or never will).
            job.ctx = Context()

    def _outcome(self) -> Any:
        job = self.work
        # The job has told us (``done``): it need not again. Unhooked, so the job and
        # this wait (job -> notify -> this wait -> job) are freed by reference
        # counting, not left to the cycle collector. (A job re-delivered after an
        # interrupt calls notify again: harmless either way.)
        job.notify = _noop
        if not self.window:
            return job.outcome()
        # The job's context names this wait (``_target``: the window opened in
        # _handover), and this wait names the job: a cycle (job -> ctx -> this wait
        # -> job). Once its changes are written back the job needs no context (it
        # ran; nobody reads it again): an empty one in its place.
        try:
            return job.outcome()
        finally:
            job.ctx = Context()


def _forget_after_fork() -> None:
    """In a forked child: the other threads' waits are gone with them."""
    mine = _blocked.get(get_ident())
    _blocked.clear()
    if mine is not None:
        _blocked[get_ident()] = mine
