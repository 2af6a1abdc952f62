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
"""

from typing import Final

from ._accelerator import _speedups
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
from ._inline import InlineIterator, get_inline_blocking_threshold, set_inline_blocking_threshold
from ._loop import shutdown
from ._pool import WorkerPool
from ._run import run
from ._sensitive import thread_sensitive_context
from ._sync_cm import sync_cm
from ._sync_iter import BlockingIterator, sync_iter

#: Whether the optional C accelerator is in use in this process (False: the pure-Python
#: path, same behaviour -- not built, on a free-threaded Python, or turned off with
#: ``SYNCHRONAUT_NO_EXTENSIONS=1``).
ACCELERATED: Final[bool] = _speedups is not None

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
