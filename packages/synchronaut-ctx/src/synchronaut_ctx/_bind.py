"""bind_context: freeze the current context into a callable, for callbacks that other
libraries run later, in another thread, or on another task."""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")


def bind_context(fn: Callable[P, T]) -> Callable[P, T]:
    """Return a callable that runs ``fn`` inside a snapshot of the current context.

    Reads: ``contextvars.copy_context()`` in the calling thread/task, once, when
    ``bind_context`` is called (every ContextVar, including the request context). Every
    call of the returned callable - from any thread, task or callback - sees that
    snapshot, not the caller's later changes and not the calling thread's own context.

    Each call runs in a *fresh copy* of the snapshot: a ``contextvars.Context`` cannot be
    entered twice at the same time, so sharing one would break concurrent and recursive
    calls. As a result the bound callable is re-entrant and thread-safe, and ContextVar
    changes made during one call are not seen by the next one or by anybody else.

    The returned callable keeps ``fn``'s ``__name__``, ``__doc__``, etc. and exposes
    ``fn`` as ``__wrapped__``. It passes through ``fn``'s return value and exceptions.

    Coroutine functions are refused: a coroutine runs in the context of the task that
    awaits it, whatever context created it, so binding would silently do nothing. To run
    a coroutine in a snapshot, create its task inside the snapshot, e.g.
    ``contextvars.copy_context().run(asyncio.create_task, coro)`` or, on Python 3.11+,
    ``asyncio.create_task(coro, context=ctx)``; under Trio,
    ``ctx.run(nursery.start_soon, fn)``. A plain function that *returns* an awaitable is
    not detected; only its synchronous part runs in the snapshot.

    Raises ``TypeError`` if ``fn`` is not callable or is a coroutine function (including
    a ``functools.partial`` of one and an object with ``async def __call__``).
    """
    if not callable(fn):
        raise TypeError(f"bind_context() expects a callable, got {type(fn).__name__!r} object")
    if _is_coroutine_function(fn):
        raise TypeError(
            f"bind_context() cannot bind coroutine function {_describe(fn)}: a coroutine "
            "runs in the context of the task that awaits it. Start a task inside the "
            "snapshot instead, e.g. contextvars.copy_context().run(asyncio.create_task, "
            "coro) (or asyncio.create_task(coro, context=...) on Python 3.11+)"
        )
    snapshot = contextvars.copy_context()

    def bound(*args: P.args, **kwargs: P.kwargs) -> T:
        # snapshot.copy(): the snapshot itself is never entered, so any number of calls
        # may run at once (threads, recursion) and none sees another's changes.
        return snapshot.copy().run(fn, *args, **kwargs)

    return functools.update_wrapper(bound, fn)


def _is_coroutine_function(fn: object) -> bool:
    # inspect.iscoroutinefunction unwraps functools.partial; an instance with an
    # `async def __call__` is only caught by looking at its bound __call__.
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isclass(fn):
        return False
    return inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


def _describe(fn: object) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return repr(name) if isinstance(name, str) else f"of type {type(fn).__name__!r}"
