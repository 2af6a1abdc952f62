"""Async generators consumed from sync code: a plain iterator whose ``next()`` blocks.

Each ``next()`` runs one step of the async generator (``__anext__``) on the event
loop pinned when the iterator was made (see ``_pinned``) and blocks the calling
thread for it, with the same guarantees as a call: per-step timeout, ContextVars in
and out, thread-sensitive calls served by the blocked thread, exceptions with their
tracebacks. Ending early closes the generator on its loop: ``close()`` (or leaving a
``with`` block) waits for its ``finally`` blocks; dropping the iterator schedules
``aclose()`` there without blocking.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from types import TracebackType
from typing import Any, TypeVar

from ._pinned import _LoopPin, _pin_loop
from ._validate import _check_timeout

__all__ = ["BlockingIterator", "sync_iter"]

_logger = logging.getLogger("synchronaut")

T = TypeVar("T")

_NEXT, _SEND, _THROW = 0, 1, 2
_EXHAUSTED = object()


async def _advance(it: BlockingIterator[Any], op: int, arg: Any) -> Any:
    """One step of ``it``'s async iterator; runs on the pinned loop, in a task.

    The awaitable (``__anext__()``/``asend()``/``athrow()``) is made here, not in the
    sync caller's thread: an async generator registers with the asyncgen hooks of the
    thread that makes its first step (that is how its loop finalizes it on garbage
    collection and at shutdown), and those hooks belong to the loop's thread.
    """
    aiter: Any = it._aiter
    if aiter is None:
        source = it._source
        it._source = None
        aiter = it._aiter = source.__aiter__()  # pyright: ignore[reportOptionalMemberAccess]
    try:
        if op == _NEXT:
            value = await aiter.__anext__()
        elif op == _SEND:
            value = await aiter.asend(arg)
        else:
            athrow = getattr(aiter, "athrow", None)
            if athrow is None:
                raise arg  # not a generator: nothing can catch it, as for a finished one
            value = await athrow(arg)
    except StopAsyncIteration:
        return _EXHAUSTED
    return (value,)  # boxed: a yielded value can be anything, even our sentinel


async def _aclose(aiter: Any) -> None:
    """Close ``aiter`` on its loop (its ``finally`` blocks run); errors propagate."""
    aclose = getattr(aiter, "aclose", None)
    if aclose is not None:
        await aclose()


async def _aclose_quietly(aiter: Any) -> None:
    """As ``_aclose``, for a close nobody waits for: errors are logged at debug level."""
    try:
        await _aclose(aiter)
    except BaseException:
        # Still running (a step that timed out on a stuck loop), or it ignored
        # GeneratorExit: nobody is left to tell.
        _logger.debug("synchronaut: closing %r failed", aiter, exc_info=True)


class BlockingIterator(Iterator[T]):
    """A sync iterator over an async iterator that lives on an event loop.

    Made by :func:`sync_iter`, or by ``call_any``/``call_sync`` on an async generator
    function in sync code. ``next()`` runs the async iterator's next step on its loop
    -- the loop that offloaded the current thread, if synchronaut did (loop
    affinity), else the background loop -- and blocks the calling thread for it.
    Also a generator: ``send()``, ``throw()`` and ``close()`` map to ``asend()``,
    ``athrow()`` and ``aclose()``; and a context manager that closes it on exit.

    An exception raised by the async generator comes out of the ``next()`` that ran
    into it, and ends the iteration, as for a plain generator. A step that runs past
    ``timeout`` is cancelled where it waits (the generator sees ``CancelledError``, its
    ``finally`` blocks run) and ``next()`` raises :class:`CallAnyTimeout`; the iterator
    is then closed: later ``next()`` calls raise ``StopIteration``.

    Not thread-safe: drive it from one thread at a time.
    """

    __slots__ = ("_aiter", "_done", "_name", "_pin", "_source", "_started", "_timeout")

    def __init__(
        self,
        source: AsyncIterable[T],
        timeout: float | None,
        name: str,
        pin: _LoopPin,
    ) -> None:
        # Only the pinned loop's thread touches ``_source``/``_aiter`` while a step
        # runs; the consumer's thread touches them between steps (it is blocked
        # during one).
        self._source: AsyncIterable[T] | None = source
        self._aiter: AsyncIterator[T] | None = None
        self._timeout = timeout
        self._name = name
        self._pin = pin
        self._started = False
        self._done = False

    def __iter__(self) -> BlockingIterator[T]:
        return self

    def __next__(self) -> T:
        return self._step(_NEXT, None)

    def send(self, value: Any) -> T:
        """Send ``value`` into the async generator (``asend``) and return its next item."""
        return self._step(_NEXT if value is None else _SEND, value)

    def throw(
        self,
        typ: type[BaseException] | BaseException,
        val: object = None,
        tb: TracebackType | None = None,
    ) -> T:
        """Raise an exception where the async generator waits (``athrow``).

        Returns the next item if the generator handles it; otherwise the exception
        (or the one it turned into) propagates here and the iteration ends.
        """
        exc = _exception_of(typ, val, tb)
        if self._done:
            raise exc
        return self._step(_THROW, exc)

    def _step(self, op: int, arg: Any) -> T:
        if self._done:
            raise StopIteration
        self._started = True
        try:
            outcome = self._pin.run(lambda: _advance(self, op, arg), self._timeout, self._name)
        except BaseException:
            # The generator raised (it is finished), or the step timed out or was
            # interrupted (it was cancelled on its loop): either way the iteration
            # is over. Close it there, without waiting -- a step abandoned on a
            # stuck loop may still be running.
            self._done = True
            self._close_later()
            raise
        if outcome is _EXHAUSTED:
            self._done = True
            self._pin.release()
            raise StopIteration
        return outcome[0]

    def close(self) -> None:
        """Close the async generator on its loop and wait until it has closed.

        Its ``finally`` blocks run there, within ``timeout``. Raises what ``aclose()``
        raises (``RuntimeError`` if it ignored ``GeneratorExit``). Does nothing if the
        iteration is already over or never started.
        """
        if self._done:
            return
        self._done = True
        aiter = self._aiter
        try:
            if self._started and aiter is not None:
                self._pin.run(lambda: _aclose(aiter), self._timeout, self._name)
        finally:
            self._pin.release()

    def _close_later(self) -> None:
        aiter = self._aiter
        if aiter is None:
            self._pin.release()
        else:
            self._pin.run_later(lambda: _aclose_quietly(aiter))

    def __del__(self) -> None:
        # Dropped unfinished (a ``break``, an exception in the loop body): close the
        # generator on its loop, without blocking -- this may run in any thread, even
        # the loop's own. Never raises, and prints nothing but a Ctrl-C landing here.
        try:
            if not self._done:
                self._done = True
                self._close_later()
        except Exception:  # pragma: no cover - interpreter shutdown
            # (Not BaseException: a Ctrl-C landing here cannot be raised either, but
            # Python then reports it as "Exception ignored" instead of it vanishing.)
            pass

    def __enter__(self) -> BlockingIterator[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "done" if self._done else "running" if self._started else "not started"
        return f"<BlockingIterator over {self._name} ({state})>"


def _exception_of(typ: type[BaseException] | BaseException, val: object, tb: Any) -> BaseException:
    """The exception that ``throw(typ[, val[, tb]])`` means, built as Python does."""
    if isinstance(typ, BaseException):
        exc = typ
    elif isinstance(val, BaseException):
        exc = val
    elif val is None:
        exc = typ()
    else:
        exc = typ(val)
    if tb is not None:
        exc = exc.with_traceback(tb)
    return exc


def _name_of(obj: object) -> str:
    name = getattr(obj, "__name__", None)
    return name if isinstance(name, str) else type(obj).__name__


def _blocking_iterator(
    source: AsyncIterable[T], timeout: float | None, name: str
) -> BlockingIterator[T]:
    """A BlockingIterator pinned to the loop this thread should use (options checked)."""
    return BlockingIterator(source, timeout, name, _pin_loop(name))


def sync_iter(
    aiterable: AsyncIterable[T], /, *, timeout: float | None = None
) -> BlockingIterator[T]:
    """Iterate an async iterable from sync code: ``for item in sync_iter(agen): ...``.

    Returns a :class:`BlockingIterator`. The async iterator runs on an event loop in
    another thread -- the loop that offloaded the calling thread, if synchronaut did
    (so loop-bound objects keep working), else the shared background loop -- and each
    ``next()`` blocks for one item, at most ``timeout`` seconds
    (:class:`CallAnyTimeout`). The iteration sees the caller's ContextVars and its
    changes to them come back, as for a call. Breaking out early closes the generator
    on its loop: at once with ``close()`` or a ``with`` block, soon after when the
    iterator is dropped.

    Raises ``TypeError`` if ``aiterable`` has no ``__aiter__`` and ``ValueError`` for a
    bad ``timeout``, before anything runs. Call it from sync code: inside a running
    loop, ``next()`` would stall that loop (use ``async for`` there).
    """
    if timeout is not None:
        _check_timeout(timeout)
    if not hasattr(type(aiterable), "__aiter__"):
        raise TypeError(
            f"sync_iter() needs an async iterable (an object with __aiter__, such as an "
            f"async generator), got {aiterable!r} ({type(aiterable).__name__})"
        )
    return _blocking_iterator(aiterable, timeout, _name_of(aiterable))
