"""Threads that run their target in a snapshot of the creator's whole context and hand
the target's return value or exception back through ``result()``."""

from __future__ import annotations

import contextvars
import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar, cast

T = TypeVar("T")
P = ParamSpec("P")

_logger = logging.getLogger("synchronaut")


class ContextThread(threading.Thread, Generic[T]):
    """A ``threading.Thread`` that runs ``target(*args, **kwargs)`` inside a copy of the
    creating thread's whole ``contextvars`` context, and keeps its outcome.

    Reads: ``contextvars.copy_context()`` in the thread that *creates* the object (every
    ContextVar, not only the request context). The thread sees a snapshot: changes the
    creator makes after construction are invisible to it, and changes the target makes
    stay inside the thread's copy. Each thread gets its own copy.

    ``result(timeout=None)`` joins the thread and returns the target's return value or
    re-raises its exception. The exception is caught inside the thread, so it never
    reaches ``threading.excepthook`` (nothing is printed); if nobody calls ``result()``
    before the thread object is garbage-collected, it is logged with
    ``logging.getLogger("synchronaut").error(..., exc_info=...)``. The exception's
    traceback refers back to the thread, so that usually happens in the next cyclic
    garbage collection rather than at the moment the last reference goes away.

    ``name`` and ``daemon`` have the ``threading.Thread`` meaning. The thread is not
    started; call ``start()`` (or use ``spawn_thread_with_ctx``).

    Raises ``TypeError`` if ``target`` is not callable.
    """

    # Class-level defaults: __del__ also runs for an instance whose __init__ raised
    # (non-callable target) and must find these there.
    _exception: BaseException | None = None
    _exception_tb: TracebackType | None = None
    _retrieved: bool = False

    def __init__(
        self,
        target: Callable[..., T],
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        daemon: bool | None = None,
    ) -> None:
        if not callable(target):
            raise TypeError(
                f"ContextThread target must be callable, got {type(target).__name__!r} object"
            )
        super().__init__(name=name, daemon=daemon)
        if name is None:
            # Same naming as threading.Thread(target=...): "Thread-3 (work)".
            target_name = getattr(target, "__name__", None)
            if isinstance(target_name, str):
                self.name: str = f"{self.name} ({target_name})"
        self._ctx_target: Callable[..., T] = target
        self._ctx_args = tuple(args)
        self._ctx_kwargs = dict(kwargs or {})
        # Taken here, in the creating thread, not in run(): by the time run() executes we
        # are in the new thread, whose own context is empty. A copy, so the creator's
        # later changes and the target's changes stay apart.
        self._context = contextvars.copy_context()
        self._value: T | None = None

    def run(self) -> None:
        """Run the target in the snapshot context and record its outcome (never raises)."""
        try:
            self._value = self._context.run(self._ctx_target, *self._ctx_args, **self._ctx_kwargs)
        except BaseException as exc:
            # BaseException too: result() must re-raise whatever the target raised, and
            # nothing may escape run() into threading.excepthook (which would print).
            # The traceback is kept separately: each re-raise in result() extends
            # exc.__traceback__, and result() puts this one back first.
            self._exception_tb = exc.__traceback__
            self._exception = exc
        finally:
            # As threading.Thread.run does: drop the target and its arguments so they do
            # not outlive the call.
            del self._ctx_target, self._ctx_args, self._ctx_kwargs

    def result(self, timeout: float | None = None) -> T:
        """Wait for the thread to finish and return the target's return value, or re-raise
        the exception it raised (with its original traceback, so the target's frames show).

        ``timeout`` is in seconds; ``None`` waits forever. May be called many times and
        from any thread other than this one.

        Raises: builtin ``TimeoutError`` if the thread is still running after ``timeout``
        (the thread keeps running; call ``result()`` again later); ``RuntimeError`` if the
        thread was never started or ``result()`` is called from the thread itself (from
        ``join()``); ``TypeError``/``ValueError`` if ``timeout`` is not ``None`` or a
        number of seconds; otherwise whatever the target raised.
        """
        self.join(_join_timeout(timeout))
        if self.is_alive():
            raise TimeoutError(
                f"thread {self.name!r} did not finish within {timeout} seconds "
                "(it is still running)"
            )
        self._retrieved = True
        if self._exception is not None:
            raise self._exception.with_traceback(self._exception_tb)
        return cast(T, self._value)

    def __del__(self) -> None:
        # Like asyncio's "Future exception was never retrieved": the only moment we know
        # for sure that nobody will ever call result(). A failed thread sits in a
        # reference cycle (exception -> traceback -> frames of this thread's run() ->
        # self), so this normally runs in a cyclic garbage collection, not at the last
        # `del`; PEP 442 guarantees __del__ still runs then.
        exc = self._exception
        if exc is not None and not self._retrieved:
            _logger.error(
                "Exception in thread %r was never retrieved (ContextThread.result() was "
                "not called)",
                self.name,
                exc_info=(type(exc), exc, self._exception_tb),
            )


def _join_timeout(timeout: object) -> float | None:
    """``timeout`` as ``Thread.join`` takes it, or TypeError/ValueError with its name.

    ``join`` itself fails unclearly on a non-number (a comparison TypeError), a NaN,
    or a wait longer than ``threading.TIMEOUT_MAX`` (OverflowError, not a ValueError);
    such a long wait is waiting forever.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"ContextThread.result() timeout must be None or a number of seconds, "
            f"got {type(timeout).__name__!r} object"
        )
    if math.isnan(timeout):
        raise ValueError("ContextThread.result() timeout must be a number of seconds, got nan")
    return None if timeout >= threading.TIMEOUT_MAX else timeout


def spawn_thread_with_ctx(
    target: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> ContextThread[T]:
    """Start and return a thread that runs ``target(*args, **kwargs)`` in a copy of the
    caller's whole context.

    Reads: ``contextvars.copy_context()`` in the calling thread at the moment of the call
    (every ContextVar, including the request context). The thread sees that snapshot:
    changes the caller makes afterwards are not visible to it, and changes the target
    makes do not leak back to the caller.

    All keyword arguments go to ``target``; for a thread name or daemon flag, build a
    ``ContextThread(target, args, kwargs, name=..., daemon=...)`` and ``start()`` it.
    Use ``thread.result(timeout=None)`` to get the return value or the exception; an
    exception never retrieved is logged to the ``"synchronaut"`` logger when the thread
    object is garbage-collected.

    Raises ``TypeError`` (before any thread starts) if ``target`` is not callable, and
    ``RuntimeError`` if the interpreter cannot start a new thread.
    """
    if not callable(target):
        raise TypeError(
            f"spawn_thread_with_ctx() target must be callable, got {type(target).__name__!r} object"
        )
    thread = ContextThread(target, args, kwargs)
    thread.start()
    return thread
