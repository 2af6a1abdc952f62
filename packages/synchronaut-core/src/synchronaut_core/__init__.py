"""synchronaut-core: call sync or async code from sync, asyncio or Trio code.

``call_any`` is the one entry point and ``@synchronaut`` the decorator over it;
``call_sync``/``call_async`` force a side;
``CallOptions`` binds options; ``check_cancelled`` lets offloaded sync code stop
early; ``thread_sensitive_context`` gives async code a DB thread of its own;
``sync_iter``/``async_iter`` and ``sync_cm``/``async_cm`` bridge iterators and
context managers; ``inline=True`` runs sync code on the loop's thread in a greenlet
(``set_inline_blocking_threshold`` tunes its blocking report); ``shutdown`` stops
the background loop. Importing this package starts no thread, changes no event-loop
policy and logs nothing (nor imports greenlet).

Each public name is loaded from its module on first use (PEP 562 ``__getattr__`` over
the table ``_LAZY``), so ``import synchronaut_core`` costs almost nothing; type checkers
read the same names from the ``TYPE_CHECKING`` imports. A new public name is one line
in each of ``TYPE_CHECKING``, ``_LAZY`` and ``__all__`` (tests/meta checks they agree).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._async_cm import async_cm
    from ._async_iter import ThreadGenerator, ThreadIterator, async_iter
    from ._backends import current_async_library
    from ._call import CallOptions, call_any, call_async, call_sync
    from ._cancel import check_cancelled
    from ._decorator import (
        SynchronautAsync,
        SynchronautAsyncGen,
        SynchronautGen,
        SynchronautSync,
        synchronaut,
    )
    from ._errors import CallAnyTimeout, CallCancelled
    from ._executor import get_default_executor, set_default_executor
    from ._inline import (
        InlineIterator,
        get_inline_blocking_threshold,
        set_inline_blocking_threshold,
    )
    from ._loop import shutdown
    from ._pool import WorkerPool
    from ._run import run
    from ._sensitive import thread_sensitive_context
    from ._sync_cm import sync_cm
    from ._sync_iter import BlockingIterator, sync_iter

    #: Whether the optional C accelerator is in use in this process (False: the
    #: pure-Python path, same behaviour -- not built, on a free-threaded Python, or
    #: turned off with ``SYNCHRONAUT_NO_EXTENSIONS=1``). Asking loads the accelerator.
    ACCELERATED: bool

#: Public name -> the private module that defines it.
_LAZY: dict[str, str] = {
    "ACCELERATED": "_accelerator",
    "BlockingIterator": "_sync_iter",
    "CallAnyTimeout": "_errors",
    "CallCancelled": "_errors",
    "CallOptions": "_call",
    "InlineIterator": "_inline",
    "SynchronautAsync": "_decorator",
    "SynchronautAsyncGen": "_decorator",
    "SynchronautGen": "_decorator",
    "SynchronautSync": "_decorator",
    "ThreadGenerator": "_async_iter",
    "ThreadIterator": "_async_iter",
    "WorkerPool": "_pool",
    "async_cm": "_async_cm",
    "async_iter": "_async_iter",
    "call_any": "_call",
    "call_async": "_call",
    "call_sync": "_call",
    "check_cancelled": "_cancel",
    "current_async_library": "_backends",
    "get_default_executor": "_executor",
    "get_inline_blocking_threshold": "_inline",
    "run": "_run",
    "set_default_executor": "_executor",
    "set_inline_blocking_threshold": "_inline",
    "shutdown": "_loop",
    "sync_cm": "_sync_cm",
    "sync_iter": "_sync_iter",
    "synchronaut": "_decorator",
    "thread_sensitive_context": "_sensitive",
}

__all__ = [
    "ACCELERATED",
    "BlockingIterator",
    "CallAnyTimeout",
    "CallCancelled",
    "CallOptions",
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
    "call_any",
    "call_async",
    "call_sync",
    "check_cancelled",
    "current_async_library",
    "get_default_executor",
    "get_inline_blocking_threshold",
    "run",
    "set_default_executor",
    "set_inline_blocking_threshold",
    "shutdown",
    "sync_cm",
    "sync_iter",
    "synchronaut",
    "thread_sensitive_context",
]

__version__ = "0.4.0"

if not TYPE_CHECKING:  # hidden from type checkers: an unknown name stays an error there

    def __getattr__(name: str) -> object:
        # Runs in whichever thread first asks for the name; the import lock makes a
        # race between two first users load the module once.
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        loaded = importlib.import_module(f"{__name__}.{module}")
        value = loaded._speedups is not None if name == "ACCELERATED" else getattr(loaded, name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
