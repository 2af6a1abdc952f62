"""``parallel_map``: run a batch of calls concurrently; results in input order."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor
from typing import Any

from synchronaut_core import call_sync, current_async_library

from . import _asyncio
from ._calls import _SHAPE, CallSpec, _check_executor, _check_max_concurrency, _iterate
from ._pending import _Pending

__all__ = ["parallel_map"]


def _run_batch(
    library: str | None, pending: _Pending, return_exceptions: bool, limit: int | None
) -> Any:
    """Where the caller is (``library``, None for sync code) decides the form: an
    awaitable in async code, the list in sync."""
    if library == "asyncio":
        return _asyncio._map_asyncio(pending, return_exceptions, limit)
    if library == "trio":
        from ._trio import _map_trio  # only ever imported while Trio runs

        return _map_trio(pending, return_exceptions, limit)
    # Sync code: the whole batch is one coroutine on the loop synchronaut picks for
    # this thread (the background loop, or by loop affinity the asyncio loop or Trio
    # run that offloaded it), so coroutines run there together (not one blocked
    # thread each) and sync functions go to the executor; this thread blocks until
    # the list is ready.
    results, error = call_sync(_map_boxed, pending, return_exceptions, limit)
    if error is not None:
        try:
            raise error
        finally:
            del error
    return results


async def _map_boxed(
    pending: _Pending, return_exceptions: bool, limit: int | None
) -> tuple[list[Any] | None, BaseException | None]:
    """The batch for a sync caller, on whichever library runs it; errors returned.

    A ``KeyboardInterrupt``/``SystemExit`` raised out of a task would escape the event
    loop itself; returned, the sync caller re-raises it in its own thread.
    """
    if current_async_library() == "trio":
        import trio

        from ._trio import _map_trio

        try:
            return await _map_trio(pending, return_exceptions, limit), None
        except trio.Cancelled:
            raise
        except BaseException as exc:
            return None, exc
    return await _asyncio._map_boxed(pending, return_exceptions, limit)


def parallel_map(
    calls: Iterable[CallSpec],
    *,
    executor: Executor | None = None,
    return_exceptions: bool = False,
    max_concurrency: int | None = None,
) -> Any:
    """Run every ``(func, args, kwargs, timeout)`` in ``calls`` concurrently.

    Returns the results in input order: the list itself in sync code, an awaitable
    of it in asyncio or Trio code (``await parallel_map(...)``).

    - Each call is ``call_any(func, *args, **kwargs)`` with that entry's ``timeout``
      (seconds or ``None``): past it the call gives ``CallAnyTimeout``.
    - Sync functions run in ``executor`` -- any ``concurrent.futures.Executor``:
      a thread pool, a ``ProcessPoolExecutor`` (picklable functions), Dask's
      ``Client.get_executor()`` -- or, when it is ``None``, synchronaut's default
      pool (under Trio without ``executor``: Trio's worker threads). Coroutines all
      run together on one event loop: the caller's, or in sync code synchronaut's
      background loop.
    - ``return_exceptions=False``: the first exception (or timeout) propagates
      unchanged, with its traceback, once every other pending call is cancelled --
      coroutines get ``CancelledError``/``trio.Cancelled``, sync calls still queued
      never start, sync calls already running in a thread cannot be stopped and are
      abandoned (see ``synchronaut_core.check_cancelled``); no call not yet started
      starts after the failure, under an eager task factory too.
      ``return_exceptions=True``: each ``Exception`` is returned in its position and
      the other calls complete.
    - A ``CancelledError`` a call raises on asyncio (it awaited a cancelled future,
      or cancelled its own task) is that call's outcome, as with a task per call;
      one it swallowed leaves what it returned. The other calls still run. Under
      Trio, a call that cancels the batch's own nursery fails it with
      ``RuntimeError``.
    - ``max_concurrency=N``: at most N calls are in flight (N tasks, at most N
      executor futures); the next call starts as one finishes.
    - ContextVars: each call starts from the caller's as they were when the batch
      started, in a copy of its own, as if it had a task of its own
      (``asyncio.gather``): what it sets -- returned, raised or cancelled -- is seen
      neither by the other calls nor by the caller, bounded or not, on every loop.
    - Without ``max_concurrency`` no call waits for another to finish before it
      starts. On asyncio the calls in flight are a window that starts at 64 and
      doubles after each round of the event loop in which no call finished (calls
      waiting for each other soon all run), so a batch of quick calls holds a few
      hundred tasks and executor jobs, not one per entry; under Trio each call's
      worker starts the next one as it first runs.

    ``calls`` is not copied. A list or tuple is checked in full before any call
    starts: an entry that is not a 4-tuple, a non-callable ``func``, ``args`` that
    is not a tuple, ``kwargs`` that is not a dict with str keys or a bad ``timeout``
    raises ``TypeError``/``ValueError`` naming it (``calls[3]: ...``). Any other
    iterable in sync code is read into a list in the caller's thread first (its
    entries may be bound to that thread -- a database cursor -- or call synchronaut
    themselves, which must see sync code there) and checked the same way. In async
    code any other iterable -- a generator of a million calls -- is read lazily, on
    the caller's loop, one entry as a worker is free for it (with
    ``max_concurrency=N``, at most N entries ahead of the calls that finished), each
    checked as it is read: a bad one fails the batch like a call's failure would
    (whatever ``return_exceptions`` says) with an error naming its position, an
    exception from the iterator fails it as raised; no call after it starts (those
    before it ran, or, still waiting for a thread, were cancelled). Such an
    iterator must not block the loop; it runs in a copy of the caller's context of
    its own, taken when ``parallel_map`` is called (it never sees what a call sets,
    and what it sets reaches neither the calls nor the caller). Never more than
    ``max_concurrency`` tasks exist; the results list is the batch's only memory
    that grows with it.
    """
    checked_executor = _check_executor(executor)
    limit = _check_max_concurrency(max_concurrency)
    library = current_async_library()
    if library is None and not isinstance(calls, (list, tuple)):
        # Sync code: the batch runs on another thread (synchronaut's background loop,
        # or the loop this thread was offloaded from), but the caller's iterator
        # belongs to this thread -- read it here, before any call starts.
        calls = list(_iterate("calls", calls, _SHAPE + " entries"))
    pending = _Pending.of_calls(calls, checked_executor)
    return _run_batch(library, pending, bool(return_exceptions), limit)
