"""synchronaut: write business logic once, call it from sync code, asyncio or Trio.

Everything public in synchronaut-core (the ``@synchronaut`` decorator included),
synchronaut-ctx and synchronaut-batch. The 0.3 import paths ``synchronaut.core``,
``synchronaut.utils`` and ``synchronaut.synchronaut`` keep working. Importing starts
no thread, changes no event-loop policy and logs nothing.

Each public name is loaded from the part that defines it on first use (PEP 562
``__getattr__`` over ``_LAZY``); type checkers read the ``TYPE_CHECKING`` imports. A new
public name is one line in each of ``TYPE_CHECKING``, ``_LAZY`` and ``__all__``
(tests/meta checks they agree).
"""

import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from synchronaut_batch import BatchIterator, CallSpec, call_map, parallel_iter, parallel_map
    from synchronaut_core import (
        ACCELERATED,
        BlockingIterator,
        CallAnyTimeout,
        CallCancelled,
        CallOptions,
        InlineIterator,
        SynchronautAsync,
        SynchronautAsyncGen,
        SynchronautGen,
        SynchronautSync,
        ThreadGenerator,
        ThreadIterator,
        WorkerPool,
        async_cm,
        async_iter,
        call_any,
        call_async,
        call_sync,
        check_cancelled,
        current_async_library,
        get_default_executor,
        get_inline_blocking_threshold,
        run,
        set_default_executor,
        set_inline_blocking_threshold,
        shutdown,
        sync_cm,
        sync_iter,
        synchronaut,
        thread_sensitive_context,
    )
    from synchronaut_ctx import (
        ContextExecutor,
        ContextThread,
        bind_context,
        get_request_ctx,
        request_context,
        set_request_ctx,
        spawn_thread_with_ctx,
    )

    from .utils import get_preferred_loop, has_uvloop_policy, is_uvloop

_CORE = "synchronaut_core"
_CTX = "synchronaut_ctx"
_BATCH = "synchronaut_batch"

#: Public name -> the module it is read from.
_LAZY: dict[str, str] = {
    "ACCELERATED": _CORE,
    "BatchIterator": _BATCH,
    "BlockingIterator": _CORE,
    "CallAnyTimeout": _CORE,
    "CallCancelled": _CORE,
    "CallOptions": _CORE,
    "CallSpec": _BATCH,
    "ContextExecutor": _CTX,
    "ContextThread": _CTX,
    "InlineIterator": _CORE,
    "SynchronautAsync": _CORE,
    "SynchronautAsyncGen": _CORE,
    "SynchronautGen": _CORE,
    "SynchronautSync": _CORE,
    "ThreadGenerator": _CORE,
    "ThreadIterator": _CORE,
    "WorkerPool": _CORE,
    "async_cm": _CORE,
    "async_iter": _CORE,
    "bind_context": _CTX,
    "call_any": _CORE,
    "call_async": _CORE,
    "call_map": _BATCH,
    "call_sync": _CORE,
    "check_cancelled": _CORE,
    "current_async_library": _CORE,
    "get_default_executor": _CORE,
    "get_inline_blocking_threshold": _CORE,
    "get_preferred_loop": "synchronaut.utils",
    "get_request_ctx": _CTX,
    "has_uvloop_policy": "synchronaut.utils",
    "is_uvloop": "synchronaut.utils",
    "parallel_iter": _BATCH,
    "parallel_map": _BATCH,
    "request_context": _CTX,
    "run": _CORE,
    "set_default_executor": _CORE,
    "set_inline_blocking_threshold": _CORE,
    "set_request_ctx": _CTX,
    "shutdown": _CORE,
    "spawn_thread_with_ctx": _CTX,
    "sync_cm": _CORE,
    "sync_iter": _CORE,
    "synchronaut": _CORE,
    "thread_sensitive_context": _CORE,
}

__all__ = [
    "ACCELERATED",
    "BatchIterator",
    "BlockingIterator",
    "CallAnyTimeout",
    "CallCancelled",
    "CallOptions",
    "CallSpec",
    "ContextExecutor",
    "ContextThread",
    "InlineIterator",
    "SynchronautAsync",
    "SynchronautAsyncGen",
    "SynchronautGen",
    "SynchronautSync",
    "ThreadGenerator",
    "ThreadIterator",
    "WorkerPool",
    "async_cm",
    "async_iter",
    "bind_context",
    "call_any",
    "call_async",
    "call_map",
    "call_sync",
    "check_cancelled",
    "current_async_library",
    "get_default_executor",
    "get_inline_blocking_threshold",
    "get_preferred_loop",
    "get_request_ctx",
    "has_uvloop_policy",
    "is_uvloop",
    "parallel_iter",
    "parallel_map",
    "request_context",
    "run",
    "set_default_executor",
    "set_inline_blocking_threshold",
    "set_request_ctx",
    "shutdown",
    "spawn_thread_with_ctx",
    "sync_cm",
    "sync_iter",
    "synchronaut",
    "thread_sensitive_context",
]

__version__ = "0.4.0"


class _Package(types.ModuleType):
    """This package's module type: ``synchronaut.synchronaut`` stays the decorator.

    Importing the 0.3 submodule ``synchronaut.synchronaut`` makes the import system bind
    it as this package's attribute of the same name, over the decorator; with the
    decorator loaded lazily that would win. The submodule stays reachable through
    ``sys.modules`` (``from synchronaut.synchronaut import synchronaut`` works).
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name == "synchronaut" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

if not TYPE_CHECKING:  # hidden from type checkers: an unknown name stays an error there

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
