"""``async_cm``: a sync context manager used with ``async with`` in async code.

``__enter__`` and ``__exit__`` are blocking sync calls, often bound to a thread (a
DB transaction, a lock): both run on one worker thread of the wrapper's own (or the
thread-sensitive thread), offloaded like any sync call, so the loop keeps serving.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AbstractContextManager
from contextvars import copy_context
from types import TracebackType
from typing import Any, Generic, TypeVar

from ._backends import _require_backend
from ._job import _Job, _JobRunner, _submit
from ._sensitive import _sensitive_runner
from ._thread_pin import _ThreadPin
from ._validate import _check_timeout

__all__ = ["async_cm"]

T = TypeVar("T")

_NEW, _ENTERED, _DONE = 0, 1, 2
_NO_KWARGS: dict[str, Any] = {}


class _Sync(Generic[T]):
    """The sync context manager, seen from its thread: every method runs there.

    The flags make a late or repeated exit safe: the thread runs one job after
    another, so no lock is needed.
    """

    __slots__ = ("cm", "entered", "exited")

    def __init__(self, cm: AbstractContextManager[T]) -> None:
        self.cm = cm
        self.entered = False
        self.exited = False

    def enter(self) -> tuple[T]:
        cm = self.cm
        value = type(cm).__enter__(cm)
        self.entered = True
        return (value,)  # boxed: a returned coroutine must not be awaited for us

    def exit(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if not self.entered or self.exited:
            return False
        self.exited = True
        cm = self.cm
        return bool(type(cm).__exit__(cm, typ, exc, tb))


class _ThreadContextManager(Generic[T]):
    """What :func:`async_cm` returns: ``async with`` in async code, the work on a thread."""

    __slots__ = ("_name", "_runner", "_state", "_sync", "_thread_sensitive", "_timeout")

    def __init__(
        self, cm: AbstractContextManager[T], timeout: float | None, thread_sensitive: bool
    ) -> None:
        self._sync = _Sync(cm)
        self._timeout = timeout
        self._thread_sensitive = thread_sensitive
        self._name = f"{type(cm).__name__} (async_cm)"
        self._runner: _JobRunner | None = None
        self._state = _NEW

    async def __aenter__(self) -> T:
        if self._state != _NEW:
            raise RuntimeError(f"{self._name} was already entered; it is single-use")
        backend = _require_backend(self._name)
        self._state = _ENTERED
        if self._thread_sensitive:
            runner: _JobRunner = _sensitive_runner()
        else:
            # A thread of its own until released, so __exit__ runs on the thread that
            # ran __enter__.
            runner = _ThreadPin("synchronaut-cm-1", ended=f"{self._name} has exited")
        self._runner = runner
        try:
            value = await backend._offload(
                self._sync.enter, (), _NO_KWARGS, self._timeout, runner, self._name
            )
        except BaseException as exc:
            # Failed, timed out or cancelled. In the last two cases __enter__ may
            # still finish on its thread: then exit there at once, with this error.
            self._exit_later(type(exc), exc, exc.__traceback__)
            raise
        return value[0]

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if self._state != _ENTERED or self._runner is None:
            raise RuntimeError(f"{self._name} was not entered")
        backend = _require_backend(self._name)
        try:
            suppress = await backend._offload(
                self._sync.exit,
                (exc_type, exc, tb),
                _NO_KWARGS,
                self._timeout,
                self._runner,
                self._name,
            )
        except BaseException as error:
            if error is exc:
                # __exit__ re-raised the block's exception: not suppressed. Returning
                # False lets Python re-raise it, with its own traceback.
                self._release()
                error.__traceback__ = tb
                return False
            # __exit__ raised, or this task timed out or was cancelled while it ran:
            # if it has not run yet, it still runs on its thread (once only).
            self._exit_later(exc_type, exc, tb)
            raise
        self._release()
        return suppress

    def _exit_later(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Queue ``__exit__`` on the thread without waiting (a no-op if it has run)."""
        runner = self._runner
        assert runner is not None
        job = _Job(self._sync.exit, (typ, exc, tb), _NO_KWARGS, copy_context(), self._name)
        _submit(runner, job)
        self._release()

    def _release(self) -> None:
        self._state = _DONE
        runner = self._runner
        if not self._thread_sensitive and isinstance(runner, _ThreadPin):
            runner.release()  # the thread ends once its queue is done


def async_cm(
    cm: AbstractContextManager[T],
    /,
    *,
    timeout: float | None = None,
    thread_sensitive: bool = False,
) -> AbstractAsyncContextManager[T]:
    """Use a sync context manager with ``async with`` in asyncio or Trio.

    ``async with async_cm(connection.transaction()) as tx: ...``: ``__enter__`` and
    ``__exit__`` run on the same worker thread -- one of the wrapper's own, or with
    ``thread_sensitive=True`` the thread-sensitive thread (see
    :func:`thread_sensitive_context`) -- while the loop keeps serving; each within
    ``timeout`` seconds (:class:`CallAnyTimeout`; the sync code cannot be stopped, and
    if ``__enter__`` finishes after all, ``__exit__`` follows at once on its thread).
    An exception raised in the block reaches ``__exit__`` with its traceback, and a
    truthy return from ``__exit__`` suppresses it, as with ``with``. ContextVar
    changes made by ``__enter__``/``__exit__`` come back to the task.

    Raises ``TypeError`` if ``cm`` is not a context manager and ``ValueError`` for a
    bad ``timeout``, before anything runs. The returned object is single-use.
    """
    if timeout is not None:
        _check_timeout(timeout)
    kind = type(cm)
    if not (hasattr(kind, "__enter__") and hasattr(kind, "__exit__")):
        raise TypeError(
            f"async_cm() needs a context manager (with __enter__ and __exit__), "
            f"got {cm!r} ({kind.__name__})"
        )
    return _ThreadContextManager(cm, timeout, bool(thread_sensitive))
