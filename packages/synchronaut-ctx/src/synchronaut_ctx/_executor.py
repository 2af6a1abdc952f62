"""ContextExecutor: a concurrent.futures.Executor whose calls run in a copy of the
submitter's context (a thread pool of its own, or a wrapped thread-based executor)."""

from __future__ import annotations

import concurrent.futures
import contextvars
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")


class ContextExecutor(Executor):
    """An ``Executor`` that runs every submitted call in a copy of the submitter's context.

    With no ``executor`` it creates and owns a ``ThreadPoolExecutor(max_workers,
    thread_name_prefix="synchronaut-ctx")`` (no thread starts before the first submit).
    With ``executor=`` it forwards calls to that executor, which it does not own.

    Reads: ``contextvars.copy_context()`` in the thread/task that calls ``submit()`` (or
    ``map()``, which submits through ``submit()``), at the moment of the call. The call
    sees that snapshot; later changes by the submitter are invisible to it and its own
    changes stay in its copy. Each call gets its own copy. This covers
    ``loop.run_in_executor(ContextExecutor(), fn)``: the copy is taken in the awaiting
    task's context.

    ``shutdown(wait=True, *, cancel_futures=False)`` stops accepting work; then:
    an owned pool is shut down with the same arguments; a wrapped executor is *not* shut
    down (it belongs to the caller, who may share it) - instead ``cancel_futures`` cancels
    the not-yet-started calls submitted through this ContextExecutor and ``wait`` waits
    for the rest of them. ``with ContextExecutor() as ex:`` calls ``shutdown(wait=True)``.

    Raises (constructor): ``TypeError`` if ``executor`` is not a
    ``concurrent.futures.Executor``, is process-based (a ``ProcessPoolExecutor`` or
    ``InterpreterPoolExecutor``: a ``contextvars.Context`` cannot be pickled, so a context
    cannot cross into another process or interpreter), or is given together with
    ``max_workers``, or if ``max_workers`` is not an int; ``ValueError`` for
    ``max_workers <= 0``.
    """

    # Runs calls in threads of this process: synchronaut (which reads this marker, the
    # package depends on nothing) may hand it callables that carry a Context.
    _synchronaut_in_process = True

    def __init__(self, executor: Executor | None = None, *, max_workers: int | None = None):
        if max_workers is not None:
            # Checked here: ThreadPoolExecutor takes a float (even NaN, and then never
            # starts a thread, so every submitted call waits forever) and words a
            # non-number as a failed comparison.
            if isinstance(max_workers, bool) or not isinstance(max_workers, int):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(
                    f"ContextExecutor: max_workers must be None or an int, "
                    f"got {type(max_workers).__name__!r} object"
                )
            if max_workers <= 0:
                raise ValueError(
                    f"ContextExecutor: max_workers must be at least 1, got {max_workers}"
                )
        if executor is None:
            # Imported here, not at module level: importing synchronaut_ctx stays cheap.
            from concurrent.futures import ThreadPoolExecutor

            self._executor: Executor = ThreadPoolExecutor(
                max_workers, thread_name_prefix="synchronaut-ctx"
            )
            self._owned = True
        else:
            _check_wrappable(executor)
            if max_workers is not None:
                raise TypeError(
                    "ContextExecutor: max_workers only applies to the pool it creates; "
                    "it cannot be combined with executor="
                )
            self._executor = executor
            self._owned = False
        # Guards _shutdown and _pending: a submit() racing with shutdown() either gets in
        # before shutdown() (and is waited for / cancelled) or is refused - never in
        # between, where it could slip into a wrapped executor unnoticed.
        self._lock = threading.Lock()
        self._shutdown = False
        # Futures submitted through us and not finished: what shutdown() of a wrapped
        # executor waits for or cancels.
        self._pending: set[Future[Any]] = set()

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Schedule ``fn(*args, **kwargs)`` to run in a copy of the caller's current
        context and return its ``Future``.

        Reads: ``contextvars.copy_context()`` here, in the submitting thread/task; the
        call sees that snapshot, not later changes.

        Raises ``TypeError`` if ``fn`` is not callable; ``RuntimeError`` after
        ``shutdown()``; whatever the wrapped executor's ``submit`` raises.
        """
        if not callable(fn):
            raise TypeError(
                f"ContextExecutor.submit() expects a callable, got {type(fn).__name__!r} object"
            )
        # Copied now, in the submitter: the worker thread has a context of its own that
        # has nothing to do with the caller. One copy per call, because one Context
        # cannot be entered by two worker threads at once.
        context = contextvars.copy_context()

        def call() -> T:
            return context.run(fn, *args, **kwargs)

        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to a ContextExecutor after shutdown()")
            future = self._executor.submit(call)
            self._pending.add(future)
        # Outside the lock: the callback runs at once, in this thread, if the future is
        # already done, and it takes the lock itself.
        future.add_done_callback(self._forget)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting calls. An owned pool is shut down with ``wait`` and
        ``cancel_futures``; a wrapped executor is left running, and only the calls
        submitted through this object are cancelled (if ``cancel_futures``, when not yet
        started) and waited for (if ``wait``). Safe to call more than once.

        Raises nothing of its own.
        """
        with self._lock:
            self._shutdown = True
            pending = list(self._pending)
        if self._owned:
            self._executor.shutdown(wait=wait, cancel_futures=cancel_futures)
            return
        if cancel_futures:
            for future in pending:
                future.cancel()
        if wait:
            concurrent.futures.wait(pending)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)


def _check_wrappable(executor: object) -> None:
    if not isinstance(executor, Executor):
        raise TypeError(
            "ContextExecutor(executor=...) expects a concurrent.futures.Executor, "
            f"got {type(executor).__name__!r} object"
        )
    # Looked up in sys.modules, never imported: importing concurrent.futures.process
    # (multiprocessing, tempfile, pickle...) costs more than the rest of the package, and
    # an executor of a module nobody imported cannot exist. InterpreterPoolExecutor
    # (3.14+) subclasses ThreadPoolExecutor but pickles calls.
    process_based: tuple[type, ...] = tuple(
        kind
        for module, name in (
            ("concurrent.futures.process", "ProcessPoolExecutor"),
            ("concurrent.futures.interpreter", "InterpreterPoolExecutor"),
        )
        if isinstance(kind := getattr(sys.modules.get(module), name, None), type)
    )
    if isinstance(executor, process_based):
        raise TypeError(
            f"ContextExecutor cannot wrap a {type(executor).__name__}: a "
            "contextvars.Context cannot be pickled, so a context cannot cross into another "
            "process or interpreter. Pass the values the function needs as arguments instead"
        )
