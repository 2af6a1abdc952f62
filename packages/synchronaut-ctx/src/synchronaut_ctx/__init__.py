"""synchronaut_ctx: carry ContextVars - and a per-request "request context" - across
threads, callbacks and executors, the same under plain threads, asyncio and Trio.

Every helper takes a *snapshot* (``contextvars.copy_context()``) at a well-defined moment
and runs code in a copy of it; nothing here is a live view of another thread's context.
"""

from synchronaut_ctx._bind import bind_context
from synchronaut_ctx._executor import ContextExecutor
from synchronaut_ctx._request import get_request_ctx, request_context, set_request_ctx
from synchronaut_ctx._threads import ContextThread, spawn_thread_with_ctx

__all__ = [
    "ContextExecutor",
    "ContextThread",
    "bind_context",
    "get_request_ctx",
    "request_context",
    "set_request_ctx",
    "spawn_thread_with_ctx",
]

__version__ = "0.4.0"
