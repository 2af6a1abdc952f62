"""A batch on an asyncio loop (uvloop included): worker tasks that take calls in order.

Everything here runs on one event loop's thread -- the caller's loop, or, for a
sync caller, synchronaut's background loop -- so the workers share the pending
calls and the results list without locks: nothing is touched between two
``await``s by anyone else. Each worker awaits one call at a time through the core's
``CallOptions``: a sync function is offloaded to the executor, a coroutine runs in
the worker task itself. So a batch never holds more tasks than workers, and at most
one executor future per worker -- yet each call starts from the caller's ContextVars
in a copy of its own, as if it had a task of its own (see ``_context``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextvars import Context, copy_context
from functools import partial
from typing import Any

from ._calls import _FATAL, _Call, _Lost
from ._context import _changed, _in_copy, _mapping_of
from ._pending import _Pending, _Taken

#: Workers a batch makes between two chances for them to run (see ``_map_asyncio``).
_READ_AHEAD = 256

#: The first window of calls in flight of a batch without a limit (it doubles after
#: each loop round in which no call finished; see ``_map_asyncio``).
_FIRST_WINDOW = 64


def _worker_count(total: int, limit: int | None) -> int:
    return total if limit is None else min(total, limit)


def _cancel_requested() -> bool:
    """Has anyone asked to cancel the running task and not taken it back?

    A worker's ``CancelledError`` is then a cancellation, not a call's outcome (a call
    raises one of its own when it awaits a future someone else cancelled). Python
    3.11+ counts the requests (``Task.cancelling``); on 3.10 the workers are
    ``_Worker`` tasks, which count them the same way. A task that counts nothing (one
    that is not a worker) takes every ``CancelledError`` for a cancellation.
    """
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or cancelling() > 0


if sys.version_info < (3, 11):

    class _Worker(asyncio.Task):  # type: ignore[type-arg]
        """A worker task on Python 3.10, which has no ``Task.cancelling()``: it counts
        the requests to cancel it (``asyncio.run`` cancelling every task at its end, the
        batch's owner, anyone) as 3.11+ does -- without it, a worker could not tell a
        call's own ``CancelledError`` from a cancellation (found by review: taking
        every one for a cancellation ended the worker quietly, a result lost and
        ``parallel_iter`` waiting for it forever). ``uncancel`` takes one back."""

        _requests = 0

        def cancel(self, msg: Any = None) -> bool:
            self._requests += 1
            return super().cancel(msg)

        def cancelling(self) -> int:
            return self._requests

        def uncancel(self) -> int:
            # As 3.11+: a timeout that cancelled this task takes its request back
            # (synchronaut's per-call timeout does on 3.10 too).
            if self._requests > 0:
                self._requests -= 1
            return self._requests

    def _start_worker(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]
    ) -> asyncio.Task[None]:
        if loop.get_task_factory() is None:
            return _Worker(coro, loop=loop)  # what loop.create_task makes, counting
        # The user's factory makes the loop's tasks (tracing, instrumentation): its task
        # type counts nothing, and every CancelledError of such a worker counts as a
        # cancellation, as before on 3.10.
        return loop.create_task(coro)

else:

    def _start_worker(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]
    ) -> asyncio.Task[None]:
        return loop.create_task(coro)


async def _cancel_and_wait(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait until every one has finished.

    Called by the batch's owner (the task that started the workers). If the owner is
    itself cancelled meanwhile, it still waits -- the workers are cancelled already
    and end at their next ``await`` -- and re-raises that cancellation afterwards,
    so no worker outlives the call that started it.
    """
    for task in tasks:
        task.cancel()  # a no-op on a finished task
    interrupted: asyncio.CancelledError | None = None
    pending = {task for task in tasks if not task.done()}
    while pending:
        try:
            _, pending = await asyncio.wait(pending)
        except asyncio.CancelledError as exc:
            interrupted = exc
    if interrupted is not None:
        raise interrupted


def _cancellation_of(task: asyncio.Task[None]) -> asyncio.CancelledError:
    """The ``CancelledError`` a cancelled ``task`` ended with."""
    try:
        task.result()
    except asyncio.CancelledError as exc:
        return exc
    return asyncio.CancelledError()  # not cancelled: never asked for (see ``ended``)


async def _map_asyncio(pending: _Pending, return_exceptions: bool, limit: int | None) -> list[Any]:
    """Run the ``pending`` calls concurrently on the running loop; results in input order.

    Workers each await one call, then take the next call nobody has started, so the
    input is read as the batch goes. With ``limit`` there are ``limit`` workers. Without
    one, a window of calls in flight (``_FIRST_WINDOW`` to begin with) that doubles after
    every round of the event loop in which no call finished: no call waits for
    another to finish (calls that wait for each other -- a barrier, an event a later
    call sets -- stop finishing, and the window grows until they have all started),
    yet a batch of quick calls keeps a few hundred in flight instead of a hundred
    thousand tasks, futures and queued thread-pool jobs at once, which made the
    cyclic garbage collector walk an ever larger set of live objects (time per call
    grew with the batch).

    With ``return_exceptions`` false, the first failure cancels every other worker
    (a coroutine gets ``CancelledError`` where it waits; a sync call still queued in
    the executor is taken back; one already running in a thread is abandoned), waits
    for them, and is re-raised as it was, traceback included. A bad entry read
    lazily, or an exception from the caller's iterator, fails the batch the same way
    whatever ``return_exceptions`` says: it is not the outcome of a call.
    """
    results: list[Any] = []
    errors: list[BaseException] = []
    tasks: list[asyncio.Task[None]] = []
    # Calls that have ended, whatever their outcome (the owner watches it to tell a
    # batch that moves from one that waits), workers that have not ended, and
    # whether the input has been read to its end.
    finished = 0
    active = 0
    exhausted = False

    def fail(exc: BaseException) -> None:
        # Kept, not raised out of a task, so that KeyboardInterrupt and SystemExit
        # from user code also reach the owner, once.
        errors.append(exc)
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()

    def take() -> _Taken | None:
        # The next call and its result slot, or None: none left, or the batch has
        # failed (a worker cancelled between its steps, a call that swallowed the
        # cancellation, an eager task that ran before it was cancellable) -- then no
        # further call starts.
        nonlocal exhausted
        if errors or stopping or exhausted:
            return None
        try:
            taken = pending.take()
        except BaseException as exc:
            fail(exc)
            return None
        if taken is None:
            exhausted = True  # an iterator is not asked again once it has ended
        else:
            results.append(None)  # calls are taken in order: its index is this slot
        return taken

    async def work(taken: _Taken | None, claim: list[int]) -> None:
        # One worker task: await one call, take the next one nobody has started, repeat.
        nonlocal finished, active
        claim.clear()  # running: from now on this task reports its own calls (see ``ended``)
        # Each call must start from the caller's ContextVars as they were when the
        # batch started, as when every call had a task of its own: this task's context
        # is a copy of them (create_task, from the owner, who runs in the caller's
        # context and changes nothing in it). A call awaited directly runs in it (an
        # ``async def``'s changes land here, a sync call's are written back here), so
        # once one has changed it, every further call of this worker runs in a fresh
        # copy of ``start`` instead (see ``_context``); unchanged, the test is one
        # identity comparison per call.
        start = copy_context()
        mapping = _mapping_of(start)
        own_copy = False
        # Counts the requests to cancel this task (as in ``AsyncioStream._work``): 3.11+,
        # 3.10's _Worker; ``int`` (always 0) for a user task factory's task on 3.10.
        cancelling: Callable[[], int] = getattr(asyncio.current_task(), "cancelling", int)
        try:
            while taken is not None:
                if errors:
                    # The batch failed after this worker was given its call and before
                    # it ran: the call is dropped, never started.
                    return
                index, func, args, kwargs, caller = taken
                taken = None  # not kept while the call runs
                try:
                    if own_copy:
                        results[index] = await _in_copy(start, caller, func, args, kwargs)
                    else:
                        results[index] = await caller(func, *args, **kwargs)
                except asyncio.CancelledError as exc:
                    if errors or stopping:
                        raise  # the owner cancels us: a failure elsewhere, or its own cancellation
                    if _cancel_requested():
                        # Someone asked to cancel this task, yet the owner has not
                        # stopped the batch: the owner's own cancellation on its way
                        # (asyncio.run's end cancels every task at once), someone else's,
                        # the call's request to cancel its own task (it got the worker
                        # from current_task()), or a request a call left behind (one
                        # that swallowed it, a cancel scope that never took it back:
                        # anyio on 3.10; a user's task factory's tasks on 3.10 count
                        # nothing). This task cannot tell which, and its count may be
                        # stale, so it ends and hands the call's outcome to the owner,
                        # which can tell: cancelled itself, it drops it; otherwise it is
                        # the call's outcome, as with a task per call, and a fresh
                        # worker takes the calls this one would have taken.
                        lost.append((index, exc))
                        raise
                    # Nobody cancelled this worker: the call raised a CancelledError of
                    # its own (it awaited a future or task that something cancelled).
                    # Its outcome, as with a task per call (asyncio.gather): re-raised,
                    # it would end this worker with its slot left None and -- bounded --
                    # the calls it would have taken never run, the batch none the wiser.
                    if return_exceptions:
                        results[index] = exc
                    else:
                        fail(exc)
                        return
                except BaseException as exc:
                    if return_exceptions and isinstance(exc, Exception):
                        results[index] = exc
                    else:
                        fail(exc)
                        return
                finished += 1
                if cancelling() and not (errors or stopping):
                    # The call ended (its outcome is in its slot) with a request to
                    # cancel this task pending: it swallowed a cancellation, or made a
                    # request and returned without awaiting (``current_task().cancel()``).
                    # Kept, the request would fall on this worker's next call, which a
                    # task of its own would never have seen. This task cannot tell whose
                    # request it is -- the call's, or the owner's own cancellation on its
                    # way (asyncio.run's end cancels every task at once) -- so it ends
                    # (cancelled: the request is spent on it) and wakes the owner, which
                    # starts a fresh worker for the calls left unless it is cancelled
                    # itself (see ``settle``: nothing of this call's is left to settle).
                    lost.append((index, None))
                    return
                if not own_copy and _changed(start, mapping):
                    own_copy = True  # returned or raised, the call's changes stay here
                taken = take()
        finally:
            active -= 1

    def ended(task: asyncio.Task[None], claim: list[int]) -> None:
        # Every worker's done-callback, run by the loop once the task has ended: wakes
        # the owner once no worker is left, or once one was lost. A worker cancelled
        # before its first step (by someone other than the owner: asyncio.run's end,
        # a call cancelling other tasks) never ran its call, nor its ``finally``: its
        # first call's outcome is that CancelledError, as for a task per call
        # cancelled before it started.
        nonlocal active
        if claim:
            active -= 1
            if not (errors or stopping):
                lost.append((claim[0], _cancellation_of(task)))
        if (lost or not active) and wake is not None and not wake.done():
            wake.set_result(None)

    def settle() -> None:
        # In the owner (not cancelled: see ``work``): each lost worker's call ended with
        # that CancelledError -- its outcome, or the batch's failure.
        nonlocal finished
        for index, exc in lost:
            if exc is None:
                continue  # its outcome is in place: only its worker is to replace
            if return_exceptions:
                results[index] = exc
                finished += 1
            elif not errors:
                fail(exc)
        lost.clear()

    # The calls whose worker ended with them, each with its CancelledError (see
    # ``work``), for the owner to settle; and the future the owner waits on for the
    # workers (set by ``ended``).
    # (None: the call has its outcome; its worker ended after it, see ``work``.)
    lost: list[tuple[int, asyncio.CancelledError | None]] = []
    wake: asyncio.Future[None] | None = None
    # Set once the owner stops waiting for the workers (it was cancelled): a worker
    # whose call swallowed the cancellation must not read and start the next entry
    # -- with an endless iterator the owner would wait for it forever.
    stopping = False
    loop = asyncio.get_running_loop()
    window = _FIRST_WINDOW if limit is None else limit
    try:
        while True:
            if lost:
                # Never trust a worker's end to mean its calls are done: a lost
                # worker's call gets its outcome here, and -- bounded -- the loop
                # below starts a fresh worker in its place for the calls left.
                settle()
            made = 0
            # At most _READ_AHEAD workers between two rounds of the loop: the calls
            # must start as the input is read, not once it is read to its end (an
            # endless iterator would never start one).
            while active < window and made < _READ_AHEAD:
                # Under an eager task factory a worker's first step runs inside
                # create_task: a call failing before its first await has failed the
                # batch already, and take() then gives None, so no further worker is
                # made.
                taken = take()
                if taken is None:
                    break
                active += 1
                made += 1
                claim = [taken[0]]
                task = _start_worker(loop, work(taken, claim))
                task.add_done_callback(partial(ended, claim=claim))
                tasks.append(task)
            if errors:
                break  # failed: nothing more to start; the workers are cancelled
            if exhausted or (limit is not None and active >= window):
                # Bounded, or nothing left to start: the workers take the rest. Wait
                # until none is left, or one was lost (then settle it and go on).
                if not active and not lost:
                    break
                if not lost:
                    wake = loop.create_future()
                    await wake
                continue
            seen = finished
            await asyncio.sleep(0)
            if limit is None and finished == seen and active >= window:
                # A round in which no call finished: the calls in flight may be waiting
                # for ones not started yet.
                window *= 2
        # Failed: wait for the workers the failure cancelled (not again: a call that
        # swallows its cancellation finishes as it chooses).
        running = [task for task in tasks if not task.done()]
        if running:
            await asyncio.wait(running)
    finally:
        stopping = True
        await _cancel_and_wait(tasks)  # only does work if we were cancelled
    if errors:
        error = errors[0]
        errors.clear()
        try:
            raise error
        finally:
            del error
    return results


async def _map_boxed(
    pending: _Pending, return_exceptions: bool, limit: int | None
) -> tuple[list[Any] | None, BaseException | None]:
    """``_map_asyncio`` for a sync caller: the batch's error is returned, not raised.

    Runs on synchronaut's background loop. A ``KeyboardInterrupt``/``SystemExit``
    raised out of a task escapes the event loop itself and would stop the shared
    background loop; returned instead, the sync caller re-raises it in its own thread.
    """
    try:
        return await _map_asyncio(pending, return_exceptions, limit), None
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        return None, exc


class AsyncioStream:
    """A batch whose outcomes are queued as they finish, for one consumer.

    Created, started, read and closed on the loop's thread; only :meth:`cancel` may
    be called from anywhere (a garbage-collected iterator). The workers hold this
    object, so the consumer-facing iterator must not be it: see ``_iter``.
    """

    __slots__ = (
        "_calls",
        "_context",
        "_limit",
        "_loop",
        "_lost",
        "_pending",
        "_ready",
        "_stopped",
        "_tasks",
    )

    def __init__(self, calls: list[_Call], limit: int | None) -> None:
        self._calls = calls
        self._limit = limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: Iterator[tuple[int, _Call]] = iter(enumerate(calls))
        self._ready: asyncio.Queue[tuple[int, Any]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # The consumer's ContextVars when the iteration started (see ``start``).
        self._context: Context | None = None
        # _Lost items queued and not yet taken by ``take`` (which then looks for them).
        self._lost = 0
        # Set once the batch is over (a fatal error, or the consumer stopped it): from
        # then on no worker takes another call. A flag and not only task.cancel():
        # a worker may be running right now (it raised the fatal error), or -- eager
        # tasks -- not be made yet.
        self._stopped = False

    def start(self) -> None:
        """Start the workers on the running loop."""
        loop = self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Queue()
        # The first workers are made here, in the consumer's context (create_task
        # copies it); a fresh worker (``_respawn``) is made later, when the consumer's
        # ContextVars may have changed (found by review of ef0af66: made in the
        # context of the consumer, or a sync consumer's thread, as it was then, its
        # calls saw what the consumer had set since) -- so it is made in this
        # snapshot instead: its calls too start from the ContextVars the iteration
        # started with.
        self._context = copy_context()
        for _ in range(_worker_count(len(self._calls), self._limit)):
            if self._stopped:
                break  # eager tasks: a worker's first step, inside create_task, ended it
            self._spawn(loop)

    def _spawn(self, loop: asyncio.AbstractEventLoop) -> None:
        claim = [True]  # emptied by the worker's first step (see ``_ended``)
        task = _start_worker(loop, self._work(claim))
        task.add_done_callback(partial(self._ended, claim=claim))
        self._tasks.append(task)

    def _respawn(self) -> None:
        # A worker in place of one that ended with its call, unless the batch is over.
        # Called by the consumer's own task, on the loop's thread, as it takes that
        # call's outcome (``_Lost.resume``: ``BatchIterator.__anext__``, or for a sync
        # consumer ``take``, in ``_iter._ready_batches``'s task), and made right there
        # -- not from a loop callback scheduled for later (found by review of ef0af66:
        # the consumer read the outcome in the last round before asyncio.run's end,
        # the callback ran after asyncio.run had listed the tasks to cancel, and the
        # fresh worker, never cancelled, started calls during the shutdown and was
        # destroyed pending when the loop closed). Made now, it is one of the loop's
        # tasks when any shutdown lists them, and is cancelled with them.
        loop = self._loop
        context = self._context
        if not self._stopped and loop is not None and context is not None:
            # A copy to enter, not the snapshot itself: an eager worker's first step runs
            # inside this ``run`` (in a context of its own, a copy again), and nothing
            # may ever find the snapshot entered already.
            context.copy().run(self._spawn, loop)

    def _ended(self, task: asyncio.Task[None], claim: list[bool]) -> None:
        # A worker's done-callback. One cancelled before its first step (by someone
        # other than us: asyncio.run's end, a call cancelling other tasks) never took a
        # call; the next call not started takes its CancelledError as its outcome (as
        # a task per call cancelled before it started), and the consumer starts a
        # fresh worker for the rest -- else, bounded, the calls left would never run.
        if not claim or self._stopped or self._ready is None:
            return
        taken = next(self._pending, None)
        if taken is not None:
            self._lost += 1
            lost = _Lost(taken[0], _cancellation_of(task), self._respawn)
            self._ready.put_nowait((_FATAL, lost))

    async def _work(self, claim: list[bool]) -> None:
        claim.clear()  # running: from now on this task reports its own calls
        assert self._ready is not None
        put = self._ready.put_nowait
        # As in ``_map_asyncio``: this task's context is a copy of the consumer's when
        # the iteration started (``start()`` created the workers); once a call changed
        # it, each further call runs in a fresh copy of it (see ``_context``).
        start = copy_context()
        mapping = _mapping_of(start)
        own_copy = False
        # Counts the requests to cancel this task (3.11+, 3.10's _Worker); a user's task
        # factory's task on 3.10 counts nothing: ``int`` then, which always says 0. One
        # call per call, no other test (this runs after every call of the stream).
        cancelling: Callable[[], int] = getattr(asyncio.current_task(), "cancelling", int)
        for index, (func, args, kwargs, options) in self._pending:
            if self._stopped:
                return  # the call just taken is dropped, never started
            try:
                if own_copy:
                    outcome = await _in_copy(start, options, func, args, kwargs)
                else:
                    outcome = await options(func, *args, **kwargs)
            except asyncio.CancelledError as exc:
                if self._stopped:
                    raise
                if _cancel_requested():
                    # Cancelled or not, this task cannot tell (see ``_map_asyncio``): it
                    # ends, and hands the call's outcome to the consumer, which starts a
                    # fresh worker unless it is cancelled itself (see ``_Lost``).
                    self._lost += 1
                    put((_FATAL, _Lost(index, exc, self._respawn)))
                    raise
                # The call's own CancelledError (see ``_map_asyncio``): its outcome.
                # Re-raised, it would end this worker and the consumer would wait
                # for this call's outcome, and those of the calls it would have
                # taken, forever.
                outcome = exc
            except Exception as exc:
                outcome = exc
            except BaseException as exc:
                put((_FATAL, exc))  # KeyboardInterrupt, SystemExit: the consumer raises it
                # The iteration ends with it: stop the other calls now rather than
                # when the consumer gets to closing us.
                self._cancel_now()
                return
            if cancelling() and not self._stopped:
                # The call ended normally with a request to cancel this task pending: it
                # swallowed a cancellation (or made a request and returned). Ours at
                # the end of asyncio.run, which cancels every task at once and does not
                # close this stream (found by review of ef0af66, pre-existing: a call
                # that swallowed it was followed by the next ones, started during the
                # shutdown, which waited for them -- forever for a call awaiting an event
                # nobody would set), or a call's own: this task cannot tell, so it ends,
                # handing the outcome to the consumer, which starts a fresh worker
                # unless it is being cancelled itself (see ``_Lost``).
                self._lost += 1
                put((_FATAL, _Lost(index, outcome, self._respawn)))
                return
            put((index, outcome))
            if not own_copy and _changed(start, mapping):
                own_copy = True

    async def next(self) -> tuple[int, Any]:
        """The next ``(index, outcome)`` to finish (index ``_FATAL``: raise outcome)."""
        assert self._ready is not None
        return await self._ready.get()

    async def take(self) -> list[tuple[int, Any]]:
        """Every item ready now, at least one: one loop round trip for a sync reader.

        A lost call's item is its ``(index, outcome)`` already (its fresh worker made).
        """
        ready = self._ready
        assert ready is not None
        items = [await ready.get()]
        while not ready.empty():
            items.append(ready.get_nowait())
        if self._lost:
            # A call whose worker ended with it: its outcome, and a fresh worker for
            # the calls left, made here -- in the sync consumer's driver task
            # (``_iter._ready_batches``), on the loop's thread, which took the outcome
            # and so is not being cancelled -- not from the consumer's thread later
            # (see ``_respawn``). Looked for only when one is queued: the common item
            # costs nothing more.
            for position, (index, outcome) in enumerate(items):
                if index == _FATAL and type(outcome) is _Lost:
                    self._lost -= 1
                    items[position] = outcome.resume()
        return items

    def loop_running(self) -> bool:
        """Is the loop that runs the workers still running (any thread may ask)?"""
        loop = self._loop
        return loop is not None and loop.is_running() and not loop.is_closed()

    def cancel(self) -> None:
        """Ask the workers to stop, from any thread; returns at once."""
        loop = self._loop
        if loop is None:
            return
        # RuntimeError: the loop is closed, and its tasks are gone already.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._cancel_now)

    def _cancel_now(self) -> None:
        self._stopped = True
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()

    async def aclose(self) -> None:
        """Cancel what is still pending and wait for the workers to end."""
        self._stopped = True
        await _cancel_and_wait(self._tasks)


async def _open_stream(calls: list[_Call], limit: int | None) -> AsyncioStream:
    """Start a stream on the running loop (for ``call_sync``: the background loop)."""
    stream = AsyncioStream(calls, limit)
    stream.start()
    return stream
