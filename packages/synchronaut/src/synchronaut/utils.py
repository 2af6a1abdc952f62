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
    through a loop factory); this only reports what the application chose (for
    instance with ``uvloop.install()``). Never raises.
    """
    uvloop: Any = sys.modules.get("uvloop")
    if uvloop is None:
        return False
    # The policy installed so far, read from asyncio's module global rather than asked
    # for with get_event_loop_policy(): that API is deprecated on 3.14+, and asking would
    # create the default policy as a side effect. None: nobody installed one. Gone (the
    # policy system is to be removed in 3.16): no policy can have been installed.
    policy: object = getattr(asyncio.events, "_event_loop_policy", None)
    uvloop_policy: object = getattr(uvloop, "EventLoopPolicy", None)
    return isinstance(uvloop_policy, type) and isinstance(policy, uvloop_policy)


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
    current = _current_loop()
    if current is not None and not current.is_closed():
        return current
    loop = _get_loop_factory()()
    asyncio.set_event_loop(loop)
    return loop


def _current_loop() -> asyncio.AbstractEventLoop | None:
    """This thread's current (set, not running) event loop, without creating one."""
    if sys.version_info >= (3, 14):
        # get_event_loop() no longer creates a loop nor warns here: it returns the
        # thread's current loop or raises RuntimeError. No policy API involved.
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            return None
    # Before 3.14 get_event_loop() may create a loop and warn (main thread, 3.10-3.13),
    # so read the thread's loop from the policy -- if one exists: none was ever created
    # means no thread has set a loop. The default policies keep it in _local._loop; a
    # custom policy is asked (the policy API is not deprecated on these versions).
    policy: Any = getattr(asyncio.events, "_event_loop_policy", None)
    if policy is None:
        return None
    try:
        current: asyncio.AbstractEventLoop | None = policy._local._loop
    except AttributeError:
        current = policy.get_event_loop()
    return current
