"""One sync call handed to a worker thread, with its outcome and cancellation flag.

The caller (a blocked thread, an asyncio task or a Trio task) creates the job, hands
``job.run`` to an executor and waits in its own way; ``notify`` is how the worker
wakes it. If the caller gives up first (timeout, cancellation) it sets
``cancel_reason``: a job not yet started is then skipped, a running one can see it
through ``check_cancelled()``, and its late result is dropped.
"""

from __future__ import annotations

import contextlib
import logging
from _thread import allocate_lock, get_ident
from collections.abc import Callable
from concurrent.futures import Executor, Future
from contextvars import Context
from typing import TYPE_CHECKING, Any, NoReturn

from ._at_exit import _park_if_refused, _threads_refused
from ._context import _write_back
from ._detect import _close_quietly, _is_coroutine_type
from ._pool import WorkerPool
from ._thread_state import _Lender, _nested_in, _Slot, _state

if TYPE_CHECKING:
    from ._waits import _Wait

_logger = logging.getLogger("synchronaut")


class _Job:
    __slots__ = (
        "args",
        "cancel_reason",
        "ctx",
        "error",
        "finished",
        "func",
        "future",
        "kwargs",
        "name",
        "notified",
        "notify",
        "origin",
        "origin_thread",
        "pool",
        "runner",
        "slot",
        "started",
        "thread",
        "value",
        "wait",
    )

    def __init__(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        ctx: Context,
        name: str,
    ) -> None:
        self.func = func
        self.args = args
        self.kwargs: dict[str, Any] = kwargs
        self.ctx = ctx
        self.name = name
        self.value: Any = None
        self.error: BaseException | None = None
        # Set as the call starts running on a thread, and once it has run and its
        # caller was told (it can no longer fail).
        self.started = False
        self.finished = False
        self.notified = False
        self.cancel_reason: str | None = None
        # The executor's future, when the job went through ``submit`` (to take a
        # queued call back on cancellation).
        self.future: Future[Any] | None = None
        # The event loop (asyncio loop or TrioToken) whose task offloaded this call:
        # coroutines the call starts go back to it (loop affinity). None: sync caller.
        self.origin: object = None
        # The ident of the thread running ``origin`` (who must act for it to serve).
        self.origin_thread: int | None = None
        # The ident of the thread running the call, once one does (see _waits).
        self.thread: int | None = None
        # The synchronous wait the call is blocked in right now, if any: cancelled
        # when the caller gives up, so cancellation reaches nested calls.
        self.wait: _Wait | None = None
        # The bounded pool the thread running the call counts against, when the
        # executor is not one of ours (a Trio run's thread limiter), and the slot
        # there the call holds (a lent one: see _thread_state._Slot).
        self.pool: object = None
        self.slot: _Slot | None = None
        # What runs the job: lets a thread-sensitive call made inside it see that it
        # is already on the right thread.
        self.runner: object = None
        # Set by the caller before submission; called on the worker thread.
        self.notify: Callable[[], object] = _noop

    def outcome(self) -> Any:
        """The job's result, taken by its caller once it ran.

        Applies the callee's ContextVar changes to the caller's context, then returns
        its value or raises its exception (with the callee's traceback).
        """
        _write_back(self.ctx)
        error = self.error
        if error is not None:
            self.error = None  # no cycle: job -> error -> traceback -> caller's frame
            try:
                raise error
            finally:
                del error
        return self.value

    def _drop_value(self) -> None:
        """The value nobody will read: close it if it is a coroutine.

        Called by the worker (a late result) and by the caller giving up (a result
        it was told of, not yet read), possibly both at once: neither clears
        ``value``, so neither can lose it to the other; closing a coroutine twice is
        harmless.
        """
        _close_if_coroutine(self.value)

    def _release_call(self) -> None:
        # Drop the callee and its arguments: the job object may outlive the call
        # (held by its caller), they need not.
        self.func = _noop
        self.args = ()
        self.kwargs = _NO_KWARGS

    def run(self) -> None:
        """Run the call on the current (worker) thread, then wake the caller."""
        if self.cancel_reason is not None or self.started or self.finished:
            # The caller gave up before a worker took the job, it was failed, or it
            # already ran (handed over twice by an interrupted rerouting): never twice.
            if self.cancel_reason is not None and not self.started:
                # Given up while queued: it never runs (every later run stops here
                # too; the runs of one job never overlap: one runner, or a claim),
                # and nobody reads its outcome. Its context may name its caller's
                # wait, which names it (see ``deliver``): dropped, no cycle.
                self.ctx = Context()
            return
        state = _state
        previous, previous_pool, previous_slot = state.job, state.pool, state.slot
        ident = get_ident()
        try:
            # In the try: a thread-sensitive job can run on a waiting *main* thread,
            # where Ctrl-C lands; the thread's state is restored whatever happens.
            self.started = True
            state.job = self
            self.thread = ident
            if self.pool is not None:
                state.pool = self.pool
                state.slot = self.slot
            self.value = self.ctx.run(self.func, *self.args, **self.kwargs)
        except BaseException as exc:
            self.error = exc
        finally:
            state.job = previous
            state.pool = previous_pool
            state.slot = previous_slot
            self._release_call()
        self.deliver()

    def deliver(self) -> None:
        """The call has run (value or error set): tell its caller, once.

        Also called by a waiting thread interrupted (Ctrl-C) right after a job it was
        serving returned, so that its caller still hears.
        """
        if self.notified:
            return
        if self.cancel_reason is not None:
            _logger.debug(
                "synchronaut: %s finished after its caller %s; result dropped",
                self.name,
                self.cancel_reason,
                exc_info=self.error,
            )
            self.finished = True
            self.error = None
            self._drop_value()
            # It has run, and its outcome will never be read (no write-back): its
            # context is nobody's now. Dropped, for a context naming its caller's
            # wait -- the window a thread-sensitive thread opens for what it offloads
            # (``_JobWait._handover``) -- is a cycle with that wait, which names us.
            self.ctx = Context()
            return
        self.finished = True
        try:
            self.notify()
        except RuntimeError:
            # The caller's event loop closed while we ran: nobody is left to tell.
            _logger.debug("synchronaut: %s finished after its caller's loop closed", self.name)
        # Only now: interrupted inside notify, the job can be delivered again (every
        # notify tolerates being called twice).
        self.notified = True

    def cancel(self) -> None:
        """Called by a pool shutting down with ``cancel_futures=True``: fail the caller."""
        self.fail(RuntimeError(f"the executor was shut down before {self.name} could start"))

    def fail(self, error: BaseException) -> None:
        """The call will never run or finish (its executor dropped it): tell the caller."""
        if self.cancel_reason is None and not self.finished:
            self.finished = True
            self.error = error
            self._release_call()
            with contextlib.suppress(RuntimeError):
                self.notify()

    def settle_if_not_run(self, future: Future[Any]) -> None:
        """Done-callback for a call submitted to an in-process executor (any thread).

        ``job.run`` settles the call itself; but if the executor finished the future
        without running it, the caller, waiting on ``notify``, would wait forever:
        fail it instead. Either the executor cancelled the future
        (``shutdown(cancel_futures=True)``; one cancelled by our own caller,
        ``give_up``, has ``cancel_reason`` set), or it failed it -- an executor that
        could not start its thread (``BrokenThreadPool``), or one that runs calls in
        another process after all and could not pickle the call (see ``__reduce__``).
        """
        if future.cancelled():
            self.cancel()
            return
        error = future.exception()
        if error is not None and not self.started:
            # ``job.run`` never raises: an error on its future means it never ran.
            self.fail(error)

    def __reduce__(self) -> NoReturn:
        # Pickled only when an executor taken for in-process ships the call to
        # another process: say so, and how to declare it (the caller gets this).
        raise TypeError(
            f"cannot send {self.name} to another process: synchronaut took the executor "
            "for one running calls in threads of this process (it sends them the call "
            "with the caller's ContextVars); declare an out-of-process executor with "
            "the attribute 'synchronaut_in_process = False' on it or its class"
        )

    def settle_from_future(self, future: Future[Any]) -> None:
        """Done-callback for a call run by an out-of-process executor (any thread)."""
        if self.cancel_reason is not None:
            return
        if future.cancelled():
            self.cancel()  # cancelled by the executor (shut down): the caller must hear
            return
        error = future.exception()
        if error is None:
            self.value = future.result()
        else:
            self.error = error
        self._release_call()
        self.finished = True
        try:
            self.notify()
        except RuntimeError:
            _logger.debug("synchronaut: %s finished after its caller's loop closed", self.name)

    def give_up(self, reason: str) -> None:
        """The caller stops waiting (on its own thread): mark, and log at debug level."""
        self.cancel_reason = reason
        if self.future is not None:
            self.future.cancel()  # takes the call back if it has not started yet
        wait = self.wait
        if wait is not None:
            # The call is blocked in a nested call of its own: cancel that too (its
            # coroutine is cancelled there, and the call gets CallCancelled).
            wait.cancel_from_caller(f"the caller of {self.name} {reason}")
        # The call may have finished just before we gave up, and notified us: its
        # value is ours to drop. (If it finishes after, ``run`` sees cancel_reason
        # and drops it there. The GIL orders the two threads' writes and reads, so
        # at least one of us sees the other's: the value is always dropped.)
        self._drop_value()
        _logger.debug(
            "synchronaut: caller of %s %s; the sync call cannot be killed and is "
            "abandoned (it may still be running in its thread)",
            self.name,
            reason,
        )


def _noop() -> None:
    return None


def _close_if_coroutine(value: object) -> None:
    # A sync callee that returned a coroutine (``lambda: fetch(x)``, aiosqlite's
    # ``db.execute(...)``) hands its caller a coroutine to run; a caller that has gone
    # will not, so it is closed: never "coroutine ... was never awaited". (A failing
    # close -- a coroutine already started whose finally failed, or being closed by
    # the other thread right now -- is logged at debug level: nobody is left to tell.)
    if _is_coroutine_type(type(value)):
        _close_quietly(value)


_NO_KWARGS: dict[str, Any] = {}


class _JobRunner:
    """Runs synchronaut jobs on a thread of its choosing, without being an Executor.

    A dedicated thread (``_thread_pin``) or a waiting caller's thread-sensitive
    window (``_loop_calls``). ``ident`` is the thread that runs the jobs, when one
    does: a call made on that very thread runs directly instead of waiting on itself.
    """

    __slots__ = ()

    @property
    def ident(self) -> int | None:
        return None

    def _run_job(self, job: _Job) -> None:
        raise NotImplementedError


#: Executors known to run calls in other processes (or interpreters), by the
#: ``(__module__, __qualname__)`` of a class in their MRO: found without importing
#: their modules (an executor of a module nobody imported does not exist).
_OUT_OF_PROCESS = frozenset(
    {
        ("concurrent.futures.process", "ProcessPoolExecutor"),
        # A ThreadPoolExecutor subclass whose threads run other interpreters (3.14).
        ("concurrent.futures.interpreter", "InterpreterPoolExecutor"),
        ("distributed.cfexecutor", "ClientExecutor"),  # Dask: Client.get_executor()
        ("loky.process_executor", "ProcessPoolExecutor"),
        ("mpi4py.futures.pool", "MPIPoolExecutor"),
    }
)


def _in_process(executor: Executor) -> bool:
    """Does ``executor`` run calls in threads of this process (so a Context can go)?

    The executor's own word first: an attribute ``synchronaut_in_process`` (True or
    False) on it or its class (``_synchronaut_in_process``, its older private name,
    too). Else False for the out-of-process executors we know (``_OUT_OF_PROCESS``:
    process pools, Dask's client executor), and True for every other one: thread
    pools and the executors that wrap them are what ``Executor`` subclasses mostly
    are, and a wrong guess fails loudly -- the call cannot be pickled, with a message
    saying how to declare the executor (``_Job.__reduce__``) -- where the opposite
    guess would silently lose the caller's ContextVars.
    """
    kind = type(executor)
    # ThreadPoolExecutor by name: importing concurrent.futures.thread to compare would
    # cost every `import synchronaut_core` what only some callers use.
    if kind is WorkerPool or (
        kind.__qualname__ == "ThreadPoolExecutor" and kind.__module__ == "concurrent.futures.thread"
    ):
        return True
    declared = getattr(executor, "synchronaut_in_process", None)
    if declared is None:
        declared = getattr(executor, "_synchronaut_in_process", None)
    if declared is not None:
        return bool(declared)
    return not any((base.__module__, base.__qualname__) in _OUT_OF_PROCESS for base in kind.__mro__)


class _Offer:
    """A job offered to two runners at once: the first to run it does, the other nothing."""

    __slots__ = ("claim", "job")

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.claim = allocate_lock()

    @property
    def started(self) -> bool:
        return self.job.started

    def run(self) -> None:
        if self.claim.acquire(blocking=False):
            self.job.run()

    def settle_if_not_run(self, future: Future[Any]) -> None:
        """Done-callback of the executor's copy of the offer (see ``_Job.settle_if_not_run``).

        The blocked worker may still run the job: the executor failing its copy
        settles the job only if it can claim it first (nobody runs it then).
        """
        failed = future.cancelled() or future.exception() is not None
        if failed and self.claim.acquire(blocking=False):
            self.job.settle_if_not_run(future)

    def deliver(self) -> None:
        self.job.deliver()


def _lenders(job: _Job, executor: object) -> list[_Lender]:
    """The slots lent to ``job``'s context by blocked workers of ``executor``, innermost first."""
    nested = job.ctx.get(_nested_in, ())
    if not nested:
        return []
    return [lender for lender in reversed(nested) if lender.pool is executor]


def _submit(executor: Executor | _JobRunner, job: _Job) -> None:
    """Hand ``job`` to ``executor``; a shut-down executor gives a clear RuntimeError.

    In-process executors (see ``_in_process``) run ``job.run``: the caller's context
    copy goes along, and the callee's ContextVar changes come back. Out-of-process
    ones (a process pool, Dask's) receive the plain ``func`` with its arguments,
    which must then be picklable; ContextVars cannot cross a process boundary. A job
    refused with an error never runs.
    """
    job.runner = executor
    if isinstance(executor, _JobRunner):
        try:
            executor._run_job(job)  # its errors say what was wrong already
        except RuntimeError as exc:
            if not _threads_refused(exc):
                _park_if_refused(exc)  # a daemon thread at exit
                raise
            job.run()  # at exit on Python 3.12: see below
        return
    try:
        if type(executor) is WorkerPool:
            # Nested work of blocked workers of this pool may run on the slots they lend.
            executor._run_job(job, _lenders(job, executor))
        elif _in_process(executor):
            job.pool = executor  # its thread is a worker of this executor (see _waits)
            lender = next((lender for lender in _lenders(job, executor) if lender.active), None)
            if lender is not None:
                # Nested work of a worker of this executor blocked waiting for it: an
                # executor we cannot see into may be full of such workers. Offered to
                # both -- the executor, and the blocked worker, which is idle anyway --
                # it runs on whichever takes it first: in parallel while the executor
                # has room, on the blocked worker when it has none.
                offer = _Offer(job)
                future = executor.submit(offer.run)
                job.future = future
                future.add_done_callback(offer.settle_if_not_run)
                wait = lender.wait
                if wait is not None:  # (None: its wait just ended; the executor runs it)
                    wait._take_nested(offer)
                return
            future = executor.submit(job.run)
            job.future = future
            future.add_done_callback(job.settle_if_not_run)
        else:
            # A decorated function's original cannot be pickled by name (its name holds
            # the wrapper): such a call is sent as a stand-in that can (_decorator).
            from ._decorator import _portable  # (it imports this module)

            future: Future[Any] = executor.submit(_portable(job.func), *job.args, **job.kwargs)
            job.future = future
            future.add_done_callback(job.settle_from_future)
    except RuntimeError as exc:
        if type(executor) is WorkerPool and _threads_refused(exc):
            # An atexit hook on Python 3.12: none of our threads can start, and the
            # job was refused (it never runs there). It runs here, on the main
            # thread -- unbounded, as a direct call (see _at_exit).
            job.run()
            return
        _park_if_refused(exc)  # a daemon thread at exit: see _at_exit
        raise RuntimeError(
            f"cannot run {job.name}: the executor {executor!r} is shut down or cannot "
            f"start a thread ({exc}); pass an open executor, or call "
            "set_default_executor() to replace it"
        ) from exc
