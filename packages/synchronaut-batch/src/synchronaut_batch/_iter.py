"""``parallel_iter``: a batch's outcomes as they finish, in sync, asyncio or Trio code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import Executor
from types import TracebackType
from typing import Any, Protocol

from synchronaut_core import current_async_library, sync_iter

from . import _asyncio
from ._calls import (
    _FATAL,
    CallSpec,
    _Call,
    _check_calls,
    _check_executor,
    _check_max_concurrency,
    _Lost,
)

__all__ = ["parallel_iter"]


class _Stream(Protocol):
    def start(self) -> None: ...
    async def next(self) -> tuple[int, Any]: ...
    def cancel(self) -> None: ...
    async def aclose(self) -> None: ...


class BatchIterator:
    """The async iterator :func:`parallel_iter` returns in asyncio and Trio code.

    Yields ``(index, result_or_exception)`` as calls finish; the calls start at the
    first ``__anext__``. Leaving the loop early (``break``, an exception) cancels the
    calls still pending as soon as the iterator is dropped; ``aclose()`` or
    ``async with`` does it right away and waits for them to end. Use it from the
    task (and event loop) that created it.

    Why a class and not an async generator: the workers must outlive each ``yield``,
    and an async generator dropped half-way is only closed later by its event loop
    (Trio even warns about it); this object instead tells the workers to stop from
    ``__del__``, which needs no awaiting.
    """

    __slots__ = ("_remaining", "_started", "_stream")

    def __init__(self, stream: _Stream, total: int) -> None:
        self._stream = stream
        self._remaining = total
        self._started = False

    def __aiter__(self) -> BatchIterator:
        return self

    async def __anext__(self) -> tuple[int, Any]:
        if self._remaining <= 0:
            if self._started:
                await self._stream.aclose()  # every worker has ended or is about to
            raise StopAsyncIteration
        if not self._started:
            self._started = True
            self._stream.start()
        index, outcome = await self._stream.next()
        if index == _FATAL:
            if type(outcome) is _Lost:
                # A call whose worker ended with it: its outcome; we are not cancelled
                # (we got here), so a fresh worker may take the calls left.
                self._remaining -= 1
                return outcome.resume()
            # KeyboardInterrupt/SystemExit from a call: stop the rest, then raise it.
            self._remaining = 0
            await self._stream.aclose()
            raise outcome
        self._remaining -= 1
        return index, outcome

    async def aclose(self) -> None:
        """Cancel the calls still pending and wait until they have ended."""
        self._remaining = 0
        if self._started:
            await self._stream.aclose()

    async def __aenter__(self) -> BatchIterator:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Dropped before the end (``break`` out of ``async for``): stop the workers.
        # Runs in whatever thread drops us, so only a thread-safe request is made.
        if self._started and self._remaining > 0:
            self._stream.cancel()


def _stream_here(calls: list[_Call], limit: int | None) -> Any:
    """A started stream of outcomes on the running loop (asyncio or Trio)."""
    if current_async_library() == "trio":
        from ._trio import TrioStream

        stream: Any = TrioStream(calls, limit)
    else:
        stream = _asyncio.AsyncioStream(calls, limit)
    stream.start()
    return stream


async def _ready_batches(calls: list[_Call], limit: int | None) -> AsyncIterator[list[Any]]:
    """The outcomes, as lists of those ready at once: one loop round trip per list.

    Runs on the loop that ``sync_iter`` pins for the sync consumer (the background
    loop, or by loop affinity the caller's own), for the whole batch; closing it --
    early or not -- cancels what is pending there and waits for it.
    """
    stream = _stream_here(calls, limit)
    try:
        remaining = len(calls)
        while remaining:
            items = await stream.take()
            remaining -= len(items)
            yield items  # a lost call's outcome resumed already (AsyncioStream.take)
    finally:
        await stream.aclose()


def _iter_sync(calls: list[_Call], limit: int | None) -> Iterator[tuple[int, Any]]:
    """The sync form: the batch runs on one loop (see ``_ready_batches``).

    This generator's thread only blocks on that loop for the next outcomes (several
    per round trip when several are ready). Closing it -- ``break`` in CPython drops
    and closes it at once -- cancels what is pending and waits for it.
    """
    if not calls:
        return
    with sync_iter(_ready_batches(calls, limit)) as batches:
        for items in batches:
            for index, outcome in items:
                if index == _FATAL:
                    raise outcome  # a _Lost item is an outcome already (stream.take)
                yield index, outcome


def parallel_iter(
    calls: Iterable[CallSpec],
    *,
    executor: Executor | None = None,
    max_concurrency: int | None = None,
) -> Any:
    """Run a batch like :func:`parallel_map`, yielding ``(index, outcome)`` as calls finish.

    ``outcome`` is the call's result, or the exception it raised (a
    ``CallAnyTimeout`` for a per-call timeout, on asyncio a ``CancelledError`` the
    call raised, its own cancellation included): a failure never ends the iteration.
    In sync code this returns a plain iterator (the batch runs on synchronaut's
    background loop); in asyncio or Trio code an async iterator (a
    :class:`BatchIterator`). Calls start when iteration starts; at most
    ``max_concurrency`` are in flight at once. Leaving the loop early cancels the
    calls still pending; for a deterministic point of cancellation use
    ``with contextlib.closing(...)`` / ``async with parallel_iter(...) as it``.

    Each call starts from the consumer's ContextVars as they were when the
    iteration started, in a copy of its own, as in :func:`parallel_map`: what a call
    sets is seen neither by the other calls nor by the consumer.

    ``calls`` is read in full and checked before anything starts, as in
    :func:`parallel_map` (``TypeError``/``ValueError`` naming ``calls[i]``).
    ``KeyboardInterrupt``/``SystemExit`` raised by a call end the batch: no further
    call starts, the pending ones are cancelled, and the consumer gets the exception.
    """
    checked_executor = _check_executor(executor)
    limit = _check_max_concurrency(max_concurrency)
    checked = _check_calls(calls, checked_executor)
    library = current_async_library()
    if library == "asyncio":
        return BatchIterator(_asyncio.AsyncioStream(checked, limit), len(checked))
    if library == "trio":
        from ._trio import TrioStream

        return BatchIterator(TrioStream(checked, limit), len(checked))
    return _iter_sync(checked, limit)
