"""One thread per request for its thread-sensitive calls, its connections closed after.

Django itself does this for ``sync_to_async``: its ASGI handler gives each request a
thread (asgiref's ``ThreadSensitiveContext``) and closes that thread's connections
when the request ends (``close_old_connections`` on ``request_finished``). ORM calls
that synchronaut runs need the same, on synchronaut's side: a
``thread_sensitive_context()`` per request, and the close on that same thread, since
a Django connection can only be closed by the thread that opened it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import async_only_middleware

from django_project.notes.db import close_connections
from synchronaut import thread_sensitive_context

Handler = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


@async_only_middleware
def thread_sensitive_requests(get_response: Handler) -> Handler:
    """Run each request in a ``thread_sensitive_context()`` and close its connections."""
    # The tests turn the close off once, to prove that they see a leak when there is one.
    close = os.environ.get("DJANGO_PROJECT_CLOSE", "1") == "1"

    async def middleware(request: HttpRequest) -> HttpResponseBase:
        async with thread_sensitive_context():
            try:
                return await get_response(request)
            finally:
                if close:
                    await close_connections.async_()

    return middleware
