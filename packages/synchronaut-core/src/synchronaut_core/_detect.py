"""Cheap answers to "is Trio running this thread?" and "is this callable async?".

Both questions are asked on every call, so the common cases are answered without
``inspect`` and without importing Trio: Trio is only consulted once something else
has imported it. The helpers closing a coroutine nobody will run live here too, so
that every caller's cleanup has them without a heavier import.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from types import CoroutineType, MethodType
from typing import Any

_modules = sys.modules
_logger = logging.getLogger("synchronaut")

#: ``co_flags`` bits of functions whose call returns an awaitable: ``async def`` and
#: ``@types.coroutine`` generators.
_CO_ASYNC = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE


def _trio_running() -> bool:
    """True when this thread is inside ``trio.run`` (Trio must already be imported)."""
    sniffio: Any = _modules.get("sniffio")
    if sniffio is not None:
        # Trio names itself in sniffio's thread-local for the whole of trio.run, on
        # the run's own thread: one attribute read. (in_trio_run() raises and catches
        # an AttributeError outside a run: ten times slower, and asked on every call
        # once Trio is imported.)
        return sniffio.thread_local.name == "trio"
    trio: Any = _modules.get("trio")
    if trio is None:
        return False
    return trio.lowlevel.in_trio_run()  # pragma: no cover - Trio without sniffio


def _is_async_slow(func: object) -> bool:
    """Classify callables that are not plain functions or bound methods.

    Unwraps ``functools.partial``, honours ``inspect.markcoroutinefunction`` and looks at
    the ``__call__`` of callable instances. Raises ``TypeError`` for non-callables.
    """
    if not callable(func):
        raise TypeError(f"func must be callable, got {func!r} ({type(func).__name__})")
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func  # pyright: ignore[reportUnknownMemberType]
    if inspect.iscoroutinefunction(target):
        return True
    code = getattr(target, "__code__", None)
    if code is not None:
        return bool(code.co_flags & _CO_ASYNC)
    if isinstance(target, type):
        return False  # calling a class builds an instance
    call = getattr(type(target), "__call__", None)  # noqa: B004  # pyright: ignore[reportUnknownArgumentType]
    return call is not None and inspect.iscoroutinefunction(call)


def _is_async(func: Callable[..., Any]) -> bool:
    """True when calling ``func`` gives a coroutine to await (see ``_is_async_slow``)."""
    try:
        flags: int = func.__code__.co_flags  # type: ignore[attr-defined]
    except AttributeError:
        return _is_async_slow(func)
    return bool(flags & _CO_ASYNC) or _marked_async(func)


def _marked_async(func: object) -> bool:
    """Is ``func`` a ``def`` marked with ``inspect.markcoroutinefunction`` (3.12+)?

    Such a function returns an awaitable to await in the caller's task, like an
    ``async def``. Asked of functions whose code says sync, on the paths that decide
    between offloading and awaiting: the attribute test is cheap (no exception raised
    for a plain function), and ``inspect`` has the last word only for the rare
    function that carries the marker attribute (its sentinel is private to
    ``inspect`` and was renamed in 3.13). Before 3.12 nothing is marked.
    """
    if type(func) is MethodType:
        func = func.__func__  # the marker is on the function (markcoroutinefunction)
    return getattr(func, "_is_coroutine_marker", None) is not None and inspect.iscoroutinefunction(
        func
    )


#: For the types of values that ``def`` functions returned: is it a coroutine to run?
#: Native coroutines, and every ``collections.abc.Coroutine`` (aiosqlite's results,
#: Cython's coroutines); never futures, tasks or other awaitables (see
#: ``_is_coroutine_type``). Learned per type, so that the question costs one dict
#: lookup on the hot path of sync calls whatever they return.
_COROUTINE_TYPES: dict[type, bool] = {CoroutineType: True}
#: ``_COROUTINE_TYPES.get``, bound once: what the hot paths call (True, False, or None
#: for a type not learned yet). CPython 3.11 compiles ``name.get(...)`` of an imported
#: ``name`` as an attribute load that makes a bound method on every call (it expects a
#: module there); a plain call of this costs a third of that.
_learned = _COROUTINE_TYPES.get
#: Past this many learned types the table starts afresh (classes made at run time
#: must not accumulate in it).
_MAX_LEARNED_TYPES = 512


def _is_coroutine_type(kind: type) -> bool:
    """Is a value of type ``kind``, returned by a ``def``, a coroutine to run?

    True for ``types.CoroutineType`` and every ``collections.abc.Coroutine``
    subclass -- objects that are pending work and nothing else (``send``, ``throw``,
    ``close``), which nobody but the caller will ever run. False for other
    awaitables: a future or a task is a handle on work already scheduled on a loop of
    its own (running it elsewhere fails, and the caller may want the handle), and an
    object that merely has ``__await__`` is often a value in its own right (a query
    builder, a lazy result): they are returned as they are.
    """
    runs = _COROUTINE_TYPES.get(kind)
    if runs is None:
        runs = issubclass(kind, Coroutine)
        table = _COROUTINE_TYPES
        if len(table) >= _MAX_LEARNED_TYPES:
            # Any thread may be reading: clear, then put the native type straight back
            # (a reader that misses it in between just asks issubclass again).
            table.clear()
            table[CoroutineType] = True
        table[kind] = runs
    return runs


async def _await(awaitable: Awaitable[Any]) -> Any:
    """A native coroutine awaiting ``awaitable``: what the loops are given to run.

    Loops and hosts take native coroutines (a Trio system task, the waiters' own
    checks); a ``collections.abc.Coroutine`` or another awaitable goes through this.
    """
    return await awaitable


def _close_quietly(coro: object) -> None:
    """Close a returned coroutine that will never run (no "never awaited" warning).

    A coroutine that is already running or finished, or whose ``finally`` fails, is
    nobody's to report any more: that is logged at debug level.
    """
    close = getattr(coro, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:
        _logger.debug("synchronaut: closing a dropped coroutine failed", exc_info=True)


_CR_SUSPENDED = sys.version_info >= (3, 11)  # coroutine.cr_suspended exists


def _close_if_unstarted(coro: Coroutine[Any, Any, Any]) -> None:
    """On the caller's thread, when handing ``coro`` over raised: close it if unstarted.

    An interrupt (Ctrl-C) can land on the very entry of ``_block_on_coroutine`` (or on
    the first import of ``_blocking`` just before it), before anything owns the
    coroutine its caller just made; closed here, it does not warn "never awaited". One
    that started belongs to the loop running it, and is left alone. (Between the checks
    and ``close()`` there is no call, so the GIL cannot pass to a loop thread that would
    start it meanwhile.) Here, beside the other coroutine helpers, so that the callers'
    cleanup never needs the module whose import may have been what failed.
    """
    if _CR_SUSPENDED:
        if coro.cr_frame is not None and not coro.cr_running and not coro.cr_suspended:  # pyright: ignore[reportAttributeAccessIssue]
            coro.close()
    elif coro.cr_frame is not None and coro.cr_frame.f_lasti < 0:  # pyright: ignore[reportAttributeAccessIssue]
        coro.close()


def _func_name(func: object) -> str:
    """The name a user recognises in messages: ``__name__``, through partials."""
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func  # pyright: ignore[reportUnknownMemberType]
    name = getattr(target, "__name__", None)
    return name if isinstance(name, str) else type(target).__name__
