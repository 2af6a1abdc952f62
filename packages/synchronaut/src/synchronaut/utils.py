"""synchronaut 0.3's ``synchronaut.utils``: the ContextVar helpers and loop helpers."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from synchronaut_core._loop import _get_loop_factory  # pyright: ignore[reportPrivateUsage]
from synchronaut_ctx import (
    bind_context,
    get_request_ctx,
    request_context,
    set_request_ctx,
    spawn_thread_with_ctx,
)

__all__ = [
    "bind_context",
    "get_preferred_loop",
    "get_request_ctx",
    "has_uvloop_policy",
    "is_uvloop",
    "request_context",
    "set_request_ctx",
    "spawn_thread_with_ctx",
]


def has_uvloop_policy() -> bool:
    """True when the global asyncio event-loop policy is uvloop's.

    synchronaut never installs that policy itself (its background loop uses uvloop
    through a loop factory); this only reports what the application chose.
    """
    uvloop: Any = sys.modules.get("uvloop")
    if uvloop is None:
        return False
    return isinstance(asyncio.get_event_loop_policy(), uvloop.EventLoopPolicy)  # pyright: ignore[reportDeprecated]


def is_uvloop(loop: asyncio.AbstractEventLoop | None = None) -> bool:
    """True when ``loop`` (default: the running loop, if any) is a uvloop loop."""
    if loop is None:
        loop = asyncio._get_running_loop()  # pyright: ignore[reportPrivateUsage]
        if loop is None:
            return False
    return type(loop).__module__.split(".", 1)[0] == "uvloop"


def get_preferred_loop() -> asyncio.AbstractEventLoop:
    """The event loop this thread should use, as in synchronaut 0.3.

    Inside a running loop: that loop. Elsewhere: this thread's current event loop if it
    has an open one, else a new loop -- uvloop's when importable -- which becomes this
    thread's current loop (``asyncio.get_event_loop()`` then returns it). The global
    event-loop policy is not changed. The caller owns a loop created here and should
    close it when done.
    """
    running = asyncio._get_running_loop()  # pyright: ignore[reportPrivateUsage]
    if running is not None:
        return running
    policy: Any = asyncio.get_event_loop_policy()  # pyright: ignore[reportDeprecated]
    try:
        # The thread's current loop, read without get_event_loop()'s side effects
        # (it creates a loop, and warns, on 3.12+ when there is none).
        current: asyncio.AbstractEventLoop | None = policy._local._loop
    except AttributeError:  # a custom policy: ask it
        current = policy.get_event_loop()
    if current is not None and not current.is_closed():
        return current
    loop = _get_loop_factory()()
    asyncio.set_event_loop(loop)
    return loop
