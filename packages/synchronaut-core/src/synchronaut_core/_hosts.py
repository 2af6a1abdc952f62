"""The event loops a waiting sync thread can hand a coroutine to.

Three kinds: a loop synchronaut runs in a thread of its own (``_loop._LoopThread``:
the background loop and spares), an asyncio loop it does not own (the one that
offloaded the current sync call: loop affinity), and a Trio run (likewise). Each
says which thread runs it (for ``_waits._closes_cycle``), whether it still runs,
and how to schedule a callback on it from another thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal, Protocol


class _LoopHost(Protocol):
    """What a waiting sync caller needs of the loop it hands work to.

    ``ident`` and ``post`` are plain attributes, not a property and a method: every
    blocking call reads them, and each level of Python call it skips is time the
    waiting thread holds the GIL that the loop's thread needs.
    """

    kind: Literal["asyncio", "trio"]
    #: Set once the loop takes no new calls (shutdown, a stop, a stuck loop retired).
    closing: bool
    #: Set at interpreter exit: daemon callers stay parked instead of failing.
    exiting: bool
    #: The loop stopped without shutdown() asking (for the error message).
    stopped_unexpectedly: bool

    #: The loop's thread (None: not started yet), for ``_waits._closes_cycle``.
    ident: int | None
    #: ``post(callback)``: run ``callback`` on the loop's thread soon (any thread);
    #: RuntimeError once the loop is gone. The loop's own bound method.
    post: Callable[[Callable[[], object]], object]

    def alive(self) -> bool: ...


class _Borrowed:
    """A loop synchronaut does not own: it never closes it, and never exits with it."""

    __slots__ = ("ident", "post")
    closing = False
    exiting = False
    stopped_unexpectedly = False

    def __init__(self, ident: int | None, post: Callable[[Callable[[], object]], object]) -> None:
        self.ident = ident
        self.post = post


class _ForeignLoop(_Borrowed):
    """An asyncio loop synchronaut does not own: the one a sync call was offloaded from."""

    __slots__ = ("loop",)
    kind: Literal["asyncio"] = "asyncio"

    def __init__(self, loop: asyncio.AbstractEventLoop, ident: int | None) -> None:
        super().__init__(ident, loop.call_soon_threadsafe)
        self.loop = loop

    def alive(self) -> bool:
        return self.loop.is_running() and not self.loop.is_closed()


class _TrioRun(_Borrowed):
    """A ``trio.run`` in another thread, reached through its ``TrioToken``."""

    __slots__ = ("token",)
    kind: Literal["trio"] = "trio"

    def __init__(self, token: Any, ident: int | None) -> None:
        super().__init__(ident, token.run_sync_soon)
        self.token = token

    def alive(self) -> bool:
        try:
            self.token.run_sync_soon(_noop)
        except RuntimeError:  # trio.RunFinishedError
            return False
        return True


def _noop() -> None:
    return None
