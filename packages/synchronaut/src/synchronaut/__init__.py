"""synchronaut: write business logic once, call it from sync code, asyncio or Trio.

Everything public in synchronaut-core (the ``@synchronaut`` decorator included),
synchronaut-ctx and synchronaut-batch. The 0.3 import paths ``synchronaut.core``,
``synchronaut.utils`` and ``synchronaut.synchronaut`` keep working. Importing starts
no thread, changes no event-loop policy and logs nothing.
"""

from synchronaut_batch import BatchIterator, CallSpec, call_map, parallel_iter, parallel_map
from synchronaut_core import (
    ACCELERATED,
    BlockingIterator,
    CallAnyTimeout,
    CallCancelled,
    CallOptions,
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
    run,
    set_default_executor,
    shutdown,
    sync_cm,
    sync_iter,
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

from .synchronaut import synchronaut  # the function; binds over the submodule name
from .utils import get_preferred_loop, has_uvloop_policy, is_uvloop

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
    "get_preferred_loop",
    "get_request_ctx",
    "has_uvloop_policy",
    "is_uvloop",
    "parallel_iter",
    "parallel_map",
    "request_context",
    "run",
    "set_default_executor",
    "set_request_ctx",
    "shutdown",
    "spawn_thread_with_ctx",
    "sync_cm",
    "sync_iter",
    "synchronaut",
    "thread_sensitive_context",
]

__version__ = "0.4.0"
