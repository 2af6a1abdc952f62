"""Cheap answers to "is Trio running this thread?" and "is this callable async?".

Both questions are asked on every call, so the common cases are answered without
``inspect`` and without importing Trio: Trio is only consulted once something else
has imported it.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

_modules = sys.modules

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
        return bool(func.__code__.co_flags & _CO_ASYNC)  # type: ignore[attr-defined]
    except AttributeError:
        return _is_async_slow(func)


def _func_name(func: object) -> str:
    """The name a user recognises in messages: ``__name__``, through partials."""
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func  # pyright: ignore[reportUnknownMemberType]
    name = getattr(target, "__name__", None)
    return name if isinstance(name, str) else type(target).__name__
