"""Sync generators consumed from async code: an async iterator on a thread of its own.

A sync generator (a DB cursor, a file reader) must stay on one thread for its whole
life, and its ``next()`` blocks. So each generator gets one dedicated worker thread
(or the thread-sensitive thread), every step runs there, and the consuming task
awaits each item through the usual offload machinery -- ContextVars, timeouts,
cancellation and loop affinity as for a call. With ``read_ahead=N`` the thread
produces up to N items before they are asked for. Ending early (``break``,
``aclose()``, an exception) closes the generator on its thread.

A decorated sync generator function called inside a loop gives a ``ThreadGenerator``:
the same async iterator, which can instead be driven synchronously (``next()``,
``send()``, ``throw()``, ``close()``) from whichever thread holds it -- frameworks
such as FastAPI call a generator dependency on their loop and drive it in their
threadpool. The first use decides which; the other is then refused.
"""

from __future__ import annotations

import collections
import logging
from _thread import allocate_lock, get_ident
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator
from contextvars import copy_context
from types import TracebackType
from typing import Any, Generic, TypeVar

from ._backends import _require_backend
from ._job import _Job, _JobRunner, _submit
from ._sensitive import _sensitive_runner
from ._thread_pin import _ThreadPin
from ._validate import _check_read_ahead, _check_timeout

__all__ = ["ThreadGenerator", "ThreadIterator", "async_iter"]

_logger = logging.getLogger("synchronaut")

T = TypeVar("T")

_EXHAUSTED = object()
_ITEM, _END, _ERROR = 0, 1, 2
_NO_KWARGS: dict[str, Any] = {}


class _Source(Generic[T]):
    """The sync iterator and its read-ahead buffer, owned by the generator's thread.

    Every method runs on that one thread, one job after another (the thread's queue
    is FIFO), so nothing here needs a lock. ``closing`` is the one field the
    consumer writes: it tells read-ahead jobs still queued not to produce.
    """

    __slots__ = (
        "buffer",
        "closing",
        "finished",
        "iterable",
        "iterator",
        "limit",
        "pump",
        "pumping",
    )

    def __init__(self, iterable: Iterable[T], limit: int) -> None:
        self.iterable: Iterable[T] | None = iterable
        self.iterator: Iterator[T] | None = None
        self.limit = limit
        self.buffer: collections.deque[tuple[int, Any]] = collections.deque()
        self.finished = False
        self.closing = False
        # With read-ahead: queues one read-ahead job on this thread (set by the
        # consumer before its first step). At most one is queued at a time, so the
        # consumer's own steps never wait behind more than one item in production.
        self.pump: Callable[[Callable[[], None]], None] | None = None
        self.pumping = False

    def _produce(self) -> Any:
        iterator = self.iterator
        if iterator is None:
            # ``iter()`` too runs here: a cursor's __iter__ may already touch the DB.
            assert self.iterable is not None
            iterator = self.iterator = iter(self.iterable)
            self.iterable = None
        try:
            return (next(iterator),)
        except StopIteration:
            self.finished = True
            return _EXHAUSTED
        except BaseException:
            self.finished = True
            raise

    def take(self) -> Any:
        """The next item, boxed in a 1-tuple, or ``_EXHAUSTED`` (a consumer's step)."""
        try:
            return self._take()
        finally:
            self._refill()

    def _take(self) -> Any:
        if self.buffer:
            kind, value = self.buffer.popleft()
            if kind == _ITEM:
                return (value,)
            if kind == _END:
                return _EXHAUSTED
            try:
                raise value  # the generator raised while reading ahead: raise it now
            finally:
                del value
        if self.finished:
            return _EXHAUSTED
        return self._produce()

    def read_ahead(self) -> None:
        """A read-ahead job: produce one item into the buffer; queue the next if room."""
        self.pumping = False
        if not self._has_room():
            return
        try:
            outcome = self._produce()
        except BaseException as exc:
            self.buffer.append((_ERROR, exc))
            return
        self.buffer.append((_END, None) if outcome is _EXHAUSTED else (_ITEM, outcome[0]))
        self._refill()

    def _has_room(self) -> bool:
        return not (self.closing or self.finished) and len(self.buffer) < self.limit

    def _refill(self) -> None:
        # One job at a time, re-queued by itself: however large ``limit`` is, nothing
        # is queued for it up front, and a consumer's step waits for one item at most.
        pump = self.pump
        if pump is None or self.pumping or not self._has_room():
            return
        self.pumping = True
        try:
            pump(self.read_ahead)
        except RuntimeError:  # the iteration ended meanwhile: its thread was released
            self.pumping = False

    def close(self) -> None:
        """Close the iterator here, on its thread (a generator's ``finally`` runs)."""
        self.closing = True
        self.buffer.clear()
        iterator, self.iterator = self.iterator, None
        self.iterable = None
        close = getattr(iterator, "close", None)
        if close is not None:
            close()

    def close_quietly(self) -> None:
        """As ``close``, for a close nobody waits for: errors are logged at debug level."""
        try:
            self.close()
        except BaseException:
            _logger.debug("synchronaut: closing a sync iterator failed", exc_info=True)


def _pump(runner: _JobRunner, name: str, origin: object) -> Callable[[Callable[[], None]], None]:
    """What queues a read-ahead job on ``runner`` (from its own thread; see _Source).

    Each job runs in a copy of the consumer's context as it was at the first step
    (changes made there are not written back), and async calls the generator makes
    go back to the consumer's loop (``origin``, run by this thread), as for its steps.
    """
    ctx = copy_context()
    origin_thread = get_ident()

    def pump(produce: Callable[[], None]) -> None:
        job = _Job(produce, (), _NO_KWARGS, ctx.copy(), name)
        job.origin = origin
        job.origin_thread = origin_thread
        _submit(runner, job)

    return pump


class ThreadIterator(AsyncIterator[T]):
    """An async iterator over a sync iterator that runs on one thread of its own.

    Made by :func:`async_iter`, or by ``call_any``/``call_async`` on a sync generator
    function inside asyncio or Trio. Every step of the sync iterator -- ``iter()``,
    each ``next()``, the final ``close()`` -- runs on the same dedicated thread
    (started on the first ``__anext__``, released when the iteration ends), or on the
    thread-sensitive thread. Each ``__anext__`` waits for one item without blocking
    the loop, at most ``timeout`` seconds (:class:`CallAnyTimeout`).

    The iteration ends with the iterator's own end or exception, or when a step times
    out or its task is cancelled: the item being produced is then lost, so the sync
    iterator is closed (on its thread, once that step finishes) and later steps raise
    ``StopAsyncIteration``. Leaving early (``aclose()``, ``async with``, or dropping
    the iterator after a ``break``) closes it on its thread too.

    Without read-ahead each step runs in a copy of the consumer's context and its
    ContextVar changes come back, as for a call. With ``read_ahead=N`` up to N items
    are produced before they are asked for (one at a time, so a step never waits
    behind more than one), each in a copy of the consumer's context as it was at the
    first step; changes made then are not written back.
    """

    __slots__ = (
        "_done",
        "_name",
        "_owns_runner",
        "_read_ahead",
        "_runner",
        "_source",
        "_started",
        "_timeout",
    )

    def __init__(
        self,
        iterable: Iterable[T],
        *,
        timeout: float | None,
        read_ahead: int,
        runner: _JobRunner | None,
        name: str,
    ) -> None:
        self._source = _Source(iterable, read_ahead)
        self._timeout = timeout
        self._read_ahead = read_ahead
        # None: a dedicated thread, made on the first step and owned here.
        self._runner = runner
        self._owns_runner = runner is None
        self._name = name
        self._started = False
        self._done = False

    def __aiter__(self) -> ThreadIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._done:
            raise StopAsyncIteration
        backend = _require_backend(f"the iterator over {self._name}")
        runner = self._runner
        if runner is None:
            # Every step of this generator runs on this one thread until we release it.
            runner = self._runner = _ThreadPin(
                "synchronaut-gen-1", ended=f"the iteration over {self._name} has ended"
            )
        if self._read_ahead and not self._started:
            self._source.pump = _pump(runner, self._name, backend._current_origin())
        self._started = True
        try:
            outcome = await backend._offload(
                self._source.take, (), _NO_KWARGS, self._timeout, runner, self._name
            )
        except BaseException:
            self._finish(close=True)
            raise
        if outcome is _EXHAUSTED:
            self._finish(close=False)
            raise StopAsyncIteration
        return outcome[0]

    def _finish(self, close: bool) -> None:
        """The iteration is over: close the iterator on its thread, release the thread.

        Never blocks: a step abandoned on timeout may still be running there, and the
        close runs after it (the thread takes jobs in order).
        """
        self._done = True
        source = self._source
        source.closing = True
        runner = self._runner
        if runner is None:
            return
        if close and self._started:
            job = _Job(source.close_quietly, (), _NO_KWARGS, copy_context(), self._name)
            _submit(runner, job)
        if self._owns_runner and isinstance(runner, _ThreadPin):
            runner.release()  # the thread ends once its queue is done

    async def aclose(self) -> None:
        """Close the sync iterator on its thread (its ``finally`` runs) and wait for it.

        Within ``timeout``; raises what ``close()`` raises. If this task is cancelled
        meanwhile, the close still happens on its thread.
        """
        if self._done:
            return
        if not self._started or self._runner is None:
            self._finish(close=False)
            return
        self._done = True
        self._source.closing = True
        backend = _require_backend(f"the iterator over {self._name}")
        try:
            await backend._offload(
                self._source.close, (), _NO_KWARGS, self._timeout, self._runner, self._name
            )
        except BaseException:
            # Timed out or cancelled: the close may not have started; queue one
            # more (closing twice is harmless), then let go of the thread.
            self._finish(close=True)
            raise
        self._finish(close=False)

    def __del__(self) -> None:
        # Dropped unfinished (a ``break`` out of ``async for``): close the iterator on
        # its thread without waiting. May run in any thread; never raises.
        try:
            if not self._done:
                self._finish(close=True)
        except Exception:  # pragma: no cover - interpreter shutdown
            # (Not BaseException: a Ctrl-C landing here cannot be raised either, but
            # Python then reports it as "Exception ignored" instead of it vanishing.)
            pass

    async def __aenter__(self) -> ThreadIterator[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "done" if self._done else "running" if self._started else "not started"
        return f"<ThreadIterator over {self._name} ({state})>"


#: How a ThreadGenerator is driven: not yet, synchronously, with ``async for``; or
#: not at all, closed before its first step (then either way sees it finished).
_UNDECIDED, _DIRECT, _THREADED, _CLOSED = 0, 1, 2, 3
#: Guards a ThreadGenerator's first use (which decides its way); later uses only read.
_claim_lock = allocate_lock()


class ThreadGenerator(ThreadIterator[T], Generator[T, Any, None]):
    """A decorated sync generator function's result inside asyncio or Trio.

    Iterated with ``async for`` it is a :class:`ThreadIterator`: the generator runs on
    one thread of its own for its whole life while the loop keeps serving, each item
    within the decorator's ``timeout``. Driven synchronously instead -- ``next()``,
    ``send()``, ``throw()``, ``close()``, in any thread -- it is the generator itself:
    each step runs right there, in the driving thread and its context, options not
    applied (as for a sync generator called from sync code). That is what frameworks
    do with a generator dependency: FastAPI calls it on its event loop, then enters
    and leaves it with ``next()``/``throw()`` in its threadpool, so its code runs on
    the threadpool's threads exactly as an undecorated generator's would.

    The first step decides which way it is driven; the other way then raises
    ``TypeError`` (a generator cannot both stay on a thread of its own and run in
    its driver's thread). ``close()``/``aclose()`` before any step just close the
    unstarted generator, so that either way it then looks finished.
    """

    __slots__ = ("_gen", "_way")

    def __init__(
        self,
        gen: Generator[T, Any, Any],
        *,
        timeout: float | None,
        runner: _JobRunner | None,
        name: str,
    ) -> None:
        super().__init__(gen, timeout=timeout, read_ahead=0, runner=runner, name=name)
        self._gen = gen
        self._way = _UNDECIDED

    def _claim(self, way: int) -> None:
        """Drive this object ``way`` from now on; TypeError if it goes the other way."""
        current = self._way
        if current in (way, _CLOSED):
            return
        with _claim_lock:
            # Under the lock: two threads taking their first step at once (a misuse,
            # but a possible one) must not both believe they decided.
            if self._way == _UNDECIDED:
                self._way = way
                if way == _DIRECT:
                    # The async side will never run: nothing to close on a thread.
                    self._done = True
                return
        if way == _DIRECT:
            raise TypeError(
                f"the iterator over {self._name} is being iterated with 'async for' (on "
                "a thread of its own); it cannot also be driven with next(), send(), "
                "throw() or close() -- use 'await aclose()' to close it"
            )
        raise TypeError(
            f"the iterator over {self._name} is being driven with next()/send()/throw(); "
            "it cannot also be iterated with 'async for'"
        )

    # --- driven synchronously: the generator itself, in the driving thread ---------

    def __iter__(self) -> ThreadGenerator[T]:
        return self

    def __next__(self) -> T:
        self._claim(_DIRECT)
        return next(self._gen)

    def send(self, value: Any, /) -> T:
        """As ``generator.send``: one step in the calling thread (see the class)."""
        self._claim(_DIRECT)
        return self._gen.send(value)

    def throw(self, *args: Any) -> T:  # pyright: ignore[reportIncompatibleMethodOverride]
        """As ``generator.throw`` (same arguments): raise in the generator, here."""
        self._claim(_DIRECT)
        return self._gen.throw(*args)

    def close(self) -> None:
        """Close the generator in the calling thread (its ``finally`` runs here).

        Before any step this only closes the unstarted generator (no code of it
        runs). Raises ``TypeError`` once it is iterated with ``async for``: use
        ``await aclose()`` then.
        """
        if self._close_unstarted():
            return
        self._claim(_DIRECT)
        self._gen.close()

    def _close_unstarted(self) -> bool:
        """Close the generator if no step was taken yet either way; True if so.

        Closing a generator that never started runs none of its code: safe in any
        thread. Both ways then see a finished iterator.
        """
        with _claim_lock:
            if self._way not in (_UNDECIDED, _CLOSED):
                return False
            self._way = _CLOSED
            self._done = True
        self._gen.close()
        return True

    # --- driven with async for: the ThreadIterator ---------------------------------

    async def __anext__(self) -> T:
        self._claim(_THREADED)
        return await super().__anext__()

    async def aclose(self) -> None:
        """Close the generator on its thread and wait for it (see ThreadIterator).

        Before any step this only closes the unstarted generator. Raises
        ``TypeError`` once it is driven synchronously: use ``close()`` then.
        """
        if self._close_unstarted():
            return
        self._claim(_THREADED)
        await super().aclose()

    def __repr__(self) -> str:
        if self._way == _DIRECT:
            return f"<ThreadGenerator over {self._name} (driven with next())>"
        if self._way == _CLOSED:
            return f"<ThreadGenerator over {self._name} (closed before its first step)>"
        return "<ThreadGenerator" + super().__repr__()[len("<ThreadIterator") :]


def _loop_generator(
    gen: Any, timeout: float | None, thread_sensitive: bool, has_executor: bool, name: str
) -> Any:
    """What a decorated sync generator function gives inside a loop (options checked).

    A ThreadGenerator over ``gen``; ``gen`` itself if it is no iterator (a wrapper
    that already resolved itself). ``ValueError`` with an executor, as for call_any.
    """
    if not hasattr(gen, "__next__"):
        return gen
    if has_executor:
        raise ValueError(
            f"{name} is a generator function: it runs on a dedicated thread of its own "
            "for its whole life, and cannot be given an executor"
        )
    runner = _sensitive_runner() if thread_sensitive else None
    return ThreadGenerator(gen, timeout=timeout, runner=runner, name=name)


def _name_of(obj: object) -> str:
    name = getattr(obj, "__name__", None)
    return name if isinstance(name, str) else type(obj).__name__


def _thread_iterator(
    iterable: Iterable[T], timeout: float | None, read_ahead: int, thread_sensitive: bool, name: str
) -> ThreadIterator[T]:
    """A ThreadIterator over ``iterable`` (options already checked)."""
    runner = _sensitive_runner() if thread_sensitive else None
    return ThreadIterator(
        iterable, timeout=timeout, read_ahead=read_ahead, runner=runner, name=name
    )


def async_iter(
    iterable: Iterable[T],
    /,
    *,
    timeout: float | None = None,
    read_ahead: int = 0,
    thread_sensitive: bool = False,
) -> ThreadIterator[T]:
    """Iterate a sync iterable from async code: ``async for row in async_iter(rows()):``.

    Returns a :class:`ThreadIterator`. The iterable -- ``iter()`` on it, every
    ``next()``, the final ``close()`` -- runs on one worker thread of its own for the
    whole iteration (with ``thread_sensitive=True``: on the thread-sensitive thread,
    see :func:`thread_sensitive_context`), so thread-bound objects such as a DB
    cursor work; the event loop keeps serving while it waits. Works under asyncio and
    Trio. Each item arrives within ``timeout`` seconds or :class:`CallAnyTimeout` is
    raised (the iteration then ends). ``read_ahead=N`` lets the thread produce up to
    N items before they are asked for. Leaving early closes the iterable on its
    thread (its ``finally`` blocks run).

    May be called in sync code and iterated later inside a loop. Raises
    ``TypeError``/``ValueError`` for bad arguments, before anything runs.
    """
    if timeout is not None:
        _check_timeout(timeout)
    _check_read_ahead(read_ahead)
    if not hasattr(type(iterable), "__iter__"):
        raise TypeError(
            f"async_iter() needs an iterable, got {iterable!r} ({type(iterable).__name__})"
        )
    return _thread_iterator(
        iterable, timeout, read_ahead, bool(thread_sensitive), _name_of(iterable)
    )
