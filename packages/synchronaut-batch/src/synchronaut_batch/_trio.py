"""A batch under Trio: worker tasks in a nursery. Imported only once Trio is running.

Like the asyncio version, every worker takes the next call not yet started and
awaits it through the core's ``CallOptions`` (a sync function goes to a worker
thread, a coroutine runs in the worker task), so the workers share the iterator and
the results without locks: all of them run on the Trio thread. Each call starts from
the caller's ContextVars in a copy of its own all the same (see ``_context``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from contextvars import copy_context
from typing import Any

import trio

from ._calls import _FATAL, _Call
from ._context import _changed, _in_copy, _mapping_of
from ._pending import _Pending, _Taken


def _worker_count(total: int, limit: int | None) -> int:
    return total if limit is None else min(total, limit)


async def _map_trio(pending: _Pending, return_exceptions: bool, limit: int | None) -> list[Any]:
    """Run the ``pending`` calls concurrently in a nursery; results in input order.

    Like ``_asyncio._map_asyncio``, at most ``limit`` workers, each taking the next
    call nobody has started; here each worker spawns the next one (see ``work``). With
    ``return_exceptions`` false, the first failure cancels the nursery (every other
    call gets ``trio.Cancelled`` where it waits; a sync call waiting for a thread or
    queued in the executor never starts) and is re-raised as it was -- not wrapped
    in an exception group. A bad entry read lazily, or an exception from the
    caller's iterator, fails the batch the same way.
    """
    results: list[Any] = []
    errors: list[BaseException] = []
    # A worker found the caller's scope cancelled and took no further call: the
    # results are incomplete and must not be returned (see the end).
    cut_short = False
    # A call ended with a Cancelled: the caller's scope, or our nursery's (see the end).
    interrupted = False

    async with trio.open_nursery() as nursery:

        def fail(exc: BaseException) -> None:
            # Kept out of the nursery, which would wrap it in a group.
            errors.append(exc)
            nursery.cancel_scope.cancel()

        def take() -> _Taken | None:
            # The next call and its result slot, or None: none left, or the batch has
            # failed or the caller's scope is cancelled (a call swallowed it) -- Trio
            # delivers a cancellation only at a checkpoint, and a call started now
            # would run up to its first one.
            nonlocal cut_short
            if errors:
                return None
            if trio.current_effective_deadline() == -math.inf:
                cut_short = True
                return None
            try:
                taken = pending.take()
            except BaseException as exc:
                fail(exc)
                return None
            if taken is not None:
                results.append(None)  # calls are taken in order: its index is this slot
            return taken

        workers = 0

        def spawn() -> None:
            nonlocal workers
            workers += 1
            nursery.start_soon(work)  # noqa: F821 (deleted after the nursery: see there)

        async def work() -> None:
            # A worker takes its first call when it first runs, not when it is
            # spawned: Trio runs new tasks in no particular order, and calls must
            # start in input order (a call failing before its first checkpoint then
            # stops the batch before any later call starts). Before running that
            # call it spawns the next worker, while fewer than ``limit`` exist: the
            # input's length need not be known (an iterator is read as we go).
            nonlocal interrupted
            taken = take()
            if taken is not None and (limit is None or workers < limit):
                spawn()  # noqa: F821 (deleted after the nursery: see there)
            # Each call must start from the caller's ContextVars as they were when the
            # batch started, as when every call had a task of its own. This task's
            # context is a copy of its spawner's, taken by start_soon before the
            # spawner ran any call (the first worker's: the caller's, which does not
            # change while it awaits the batch). A call awaited directly runs in it, so
            # once one has changed it, each further call of this worker runs in a
            # fresh copy of ``start`` instead (see ``_context``).
            start = copy_context()
            mapping = _mapping_of(start)
            own_copy = False
            while taken is not None:
                if errors:
                    # The batch failed after this worker took its call and before
                    # the call ran: the call is dropped, never started.
                    return
                index, func, args, kwargs, options = taken
                try:
                    if own_copy:
                        results[index] = await _in_copy(start, options, func, args, kwargs)
                    else:
                        results[index] = await options(func, *args, **kwargs)
                except trio.Cancelled:
                    interrupted = True
                    raise  # our nursery (a failure elsewhere) or the caller's scope
                except BaseException as exc:
                    if return_exceptions and isinstance(exc, Exception):
                        results[index] = exc
                    else:
                        fail(exc)
                        return
                if not own_copy and _changed(start, mapping):
                    own_copy = True  # returned or raised, the call's changes stay here
                taken = take()

        spawn()
    # spawn and work name each other: a cycle, with the nursery and every closure
    # cell, that only the cycle collector would free. Cut here, once the nursery
    # is done with them (an error out of the block leaves it to the collector).
    del spawn, work
    if errors:
        error = errors[0]
        errors.clear()
        try:
            raise error
        finally:
            del error
    if (interrupted or cut_short) and nursery.cancel_scope.cancel_called:
        # Not by us (``fail`` keeps its error first): a call cancelled the batch's own
        # nursery, which it can reach (trio.lowlevel.current_task().parent_nursery).
        # The nursery caught that Cancelled: the calls in flight ended with it, and no
        # further call started. Not a call's outcome (a Cancelled is its scope's), and
        # a list cut short must not pass for the batch's: the batch fails. The
        # caller's own cancellation, if any, comes first.
        await trio.lowlevel.checkpoint_if_cancelled()
        raise _nursery_cancelled()
    if cut_short:
        # Every call in flight returned normally (one swallowed its Cancelled), so the
        # nursery raised nothing: the caller's scope is cancelled, and this checkpoint
        # raises that Cancelled rather than return a short list.
        await trio.lowlevel.checkpoint()
    return results


def _nursery_cancelled() -> RuntimeError:
    return RuntimeError(
        "a call cancelled the batch's own nursery (the parent_nursery of its task), "
        "which stops the batch like a failure: the calls in flight were cancelled "
        "and no further call started"
    )


class TrioStream:
    """A batch whose outcomes go through a channel as they finish, for one consumer.

    An async iterator cannot hold a nursery open across its ``yield``s, so the
    workers run in a nursery inside a Trio *system task* this object starts. The
    system task must never raise anything but ``Cancelled`` (Trio would crash the
    run), so outcomes and fatal errors all go through the channel. The consumer owns
    the cancel scope; the workers hold this object, so the consumer-facing iterator
    must not be it: see ``_iter``.
    """

    __slots__ = (
        "_calls",
        "_finished",
        "_limit",
        "_pending",
        "_receive",
        "_scope",
        "_send",
        "_token",
    )

    def __init__(self, calls: list[_Call], limit: int | None) -> None:
        self._calls = calls
        self._limit = limit
        self._pending: Iterator[tuple[int, _Call]] = iter(enumerate(calls))
        self._send, self._receive = trio.open_memory_channel[tuple[int, Any]](math.inf)
        self._scope = trio.CancelScope()
        self._finished = trio.Event()
        self._token: trio.lowlevel.TrioToken | None = None

    def start(self) -> None:
        """Start the workers (in the Trio thread, inside a task)."""
        self._token = trio.lowlevel.current_trio_token()
        # System tasks do not inherit the creator's ContextVars: hand them a copy, as a
        # nursery would.
        trio.lowlevel.spawn_system_task(
            self._run, name="synchronaut-batch parallel_iter", context=copy_context()
        )

    async def _run(self) -> None:
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    for _ in range(_worker_count(len(self._calls), self._limit)):
                        nursery.start_soon(self._work)
                # Inside ``self._scope``, where ``nursery`` is bound for certain (after
                # the block, a Cancelled the scope caught would leave it unbound as far
                # as pyright can tell: strict pyright failed on 26597db). Reached only
                # if the nursery raised nothing; the consumer's cancellation (of
                # ``self._scope``) is then no call's doing.
                if nursery.cancel_scope.cancel_called and not self._scope.cancel_called:
                    # A call cancelled its workers' nursery (see ``_map_trio``): they all
                    # ended, and the consumer would wait for the outcomes left forever.
                    # If it had them all already, it never reads this.
                    self._send.send_nowait((_FATAL, _nursery_cancelled()))
        finally:
            self._finished.set()

    async def _work(self) -> None:
        send = self._send.send_nowait
        # As in ``_map_trio``: this task's context is a copy of the system task's, a
        # copy of the consumer's when the iteration started; once a call has changed
        # it, each further call runs in a fresh copy of it (see ``_context``).
        start = copy_context()
        mapping = _mapping_of(start)
        own_copy = False
        for index, (func, args, kwargs, options) in self._pending:
            if self._scope.cancel_called:
                # A fatal error or the consumer stopped the batch; Trio would deliver
                # that only at the call's first checkpoint, so do not start it at all.
                return
            try:
                if own_copy:
                    outcome = await _in_copy(start, options, func, args, kwargs)
                else:
                    outcome = await options(func, *args, **kwargs)
            except trio.Cancelled:
                raise
            except Exception as exc:
                outcome = exc
            except BaseException as exc:
                send((_FATAL, exc))  # KeyboardInterrupt, SystemExit: the consumer raises it
                self._scope.cancel()
                return
            send((index, outcome))
            if not own_copy and _changed(start, mapping):
                own_copy = True

    async def next(self) -> tuple[int, Any]:
        """The next ``(index, outcome)`` to finish (index ``_FATAL``: raise outcome)."""
        return await self._receive.receive()

    async def take(self) -> list[tuple[int, Any]]:
        """Every item ready now, at least one: one round trip for a sync reader."""
        items = [await self._receive.receive()]
        while True:
            try:
                items.append(self._receive.receive_nowait())
            except trio.WouldBlock:
                return items

    def loop_running(self) -> bool:
        """Is the Trio run that runs the workers still running (any thread may ask)?"""
        token = self._token
        if token is None:
            return False
        try:
            token.run_sync_soon(_noop)
        except trio.RunFinishedError:
            return False
        return True

    def cancel(self) -> None:
        """Ask the workers to stop, from any thread; returns at once."""
        token = self._token
        if token is None:
            return
        # RunFinishedError: trio.run has ended, and its tasks are gone already.
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(self._scope.cancel)

    async def aclose(self) -> None:
        """Cancel what is still pending and wait for the workers to end."""
        self._scope.cancel()
        if self._token is not None:
            # Shielded: the consumer may be closing us *because* it was cancelled.
            with trio.CancelScope(shield=True):
                await self._finished.wait()


def _noop() -> None:
    return None
