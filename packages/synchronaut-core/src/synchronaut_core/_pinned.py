"""The event loop that sync code drives one async object on, chosen once for its life.

An async generator or async context manager used from sync code advances one step
per blocking call (``next()``, ``__enter__``), and every step must run on the same
loop: asyncio ties generators (through its asyncgen hooks), locks, queues and
sessions to the loop that first used them. The loop is chosen by ``_placement``, as
for a call, but once, when the object is wrapped; its steps are calls bound to it
(a step that would have to wait on a loop blocked waiting for this thread fails
with an error instead of hanging).
"""

from __future__ import annotations

import contextlib
from _thread import get_ident
from collections.abc import Callable, Coroutine
from contextvars import copy_context
from typing import Any

from . import _inline, _loop
from ._at_exit import _park_if_refused, _run_step_here, _threads_refused
from ._hosts import _ForeignLoop, _LoopHost, _TrioRun
from ._loop_calls import _LoopCall
from ._placement import _pin_host

#: Makes the coroutine that a pinned loop runs on its own, unwatched (a close).
_CoroFactory = Callable[[], Coroutine[Any, Any, None]]


class _LoopPin:
    """The loop an async object lives on; ``spare`` when it was started for the object.

    A spare is stopped once the object is done with it.
    """

    __slots__ = ("host", "spare")

    def __init__(self, host: _LoopHost, spare: _loop._LoopThread | None) -> None:
        self.host: _LoopHost = host
        self.spare: _loop._LoopThread | None = spare

    def run(
        self, make: Callable[[], Coroutine[Any, Any, Any]], timeout: float | None, name: str
    ) -> Any:
        """Run ``make()`` on the pinned loop; block this thread for its outcome."""
        if self.host.ident == get_ident():
            # The pinned loop runs this very thread: blocking it would wait forever.
            raise RuntimeError(
                f"{name} runs on this thread's event loop and cannot be driven by blocking "
                "calls from it; use 'async for'/'async with' on the async object instead"
            )
        # ``make`` is called on the loop's thread: see _loop_calls._LoopCall._start.
        return _LoopCall(self.host, make, copy_context(), timeout, name, False).wait()

    def run_later(self, make: _CoroFactory) -> None:
        """From any thread, without blocking: start ``make()`` as a task on the loop.

        Used from ``__del__`` (and after a failed step), so it never raises: a loop
        that has already closed took its generators down with it.
        """
        host = self.host
        try:
            if host.kind == "trio":
                host.post(lambda: _spawn_system_task(make))
            else:
                host.post(lambda: _start_task(host, make, self.spare))
        except RuntimeError:  # the loop has closed
            self.release()

    def release(self) -> None:
        """The object is done with the loop: stop it if it was started for the object."""
        spare, self.spare = self.spare, None
        if spare is not None:
            spare.stop(timeout=0)  # never joins: may run in __del__


def _start_task(host: _LoopHost, make: _CoroFactory, spare: _loop._LoopThread | None) -> None:
    # On the pinned asyncio loop's thread. ``make()`` swallows its own errors, so the
    # task never ends with an exception nobody retrieves.
    loop: Any = getattr(host, "loop")  # noqa: B009 - every asyncio host has one
    task = loop.create_task(make())
    if spare is not None:
        task.add_done_callback(lambda _task: spare._request_stop())


def _spawn_system_task(make: _CoroFactory) -> None:
    # In the Trio thread (a run_sync_soon callback). ``make()`` swallows its errors:
    # a system task that raises would crash the whole run.
    import trio

    with contextlib.suppress(RuntimeError):  # the run is shutting down
        trio.lowlevel.spawn_system_task(make)


def _pin_loop(name: str) -> _LoopPin:
    """Choose, once, the loop that drives an async object for this (sync) thread."""
    inline = _inline._inline_waiter(name)
    if inline is not None:
        return _InlinePin(inline)  # inline code: the steps are awaited by its task
    try:
        host, spare = _pin_host(name)
    except RuntimeError as exc:
        if not _threads_refused(exc):
            _park_if_refused(exc)  # a daemon thread at exit
            raise
        return _HerePin()  # an atexit hook on Python 3.12: no loop thread can start
    return _LoopPin(host, spare)


class _HerePin(_LoopPin):
    """A loop of the object's own on this (the main) thread, when no thread can start.

    Only at interpreter exit on Python 3.12 (see ``_at_exit``): each step runs the
    loop until the step is done; tasks the object keeps (a context manager's holder)
    wait, suspended, for the next step. The loop closes with the object.
    """

    __slots__ = ("loop",)

    def __init__(self) -> None:  # no host: every method that would use one is ours
        self.spare = None
        self.loop = _loop._get_loop_factory()()

    def run(
        self, make: Callable[[], Coroutine[Any, Any, Any]], timeout: float | None, name: str
    ) -> Any:
        if self.loop.is_closed():
            raise RuntimeError(f"cannot run {name}: its event loop is closed")
        return _run_step_here(self.loop, make, timeout, name)

    def run_later(self, make: _CoroFactory) -> None:
        # Nobody waits, and there is no other thread to do it later: now, quietly
        # (``make()`` swallows its own errors); not from inside a running loop.
        loop = self.loop
        if not loop.is_closed() and not loop.is_running():
            with contextlib.suppress(RuntimeError):
                loop.run_until_complete(make())
        self.release()

    def release(self) -> None:
        loop = self.loop
        if not loop.is_closed() and not loop.is_running():
            with contextlib.suppress(RuntimeError):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


class _InlinePin(_LoopPin):
    """The loop of the inline code that wrapped the object: its steps are awaited there.

    Inline code runs on its loop's own thread (see ``_inline``): each step is handed
    to the task driving the inline code that takes it -- the same loop, whichever
    inline call that is -- instead of blocking the thread. Closes that nobody waits
    for are posted to the loop as for any pinned loop.
    """

    __slots__ = ()

    def __init__(self, inline: _inline._Inline) -> None:
        host: _LoopHost
        if inline.loop is not None:
            host = _ForeignLoop(inline.loop, get_ident())
        else:
            import trio

            host = _TrioRun(trio.lowlevel.current_trio_token(), get_ident())
        super().__init__(host, None)

    def run(
        self, make: Callable[[], Coroutine[Any, Any, Any]], timeout: float | None, name: str
    ) -> Any:
        inline = _inline._inline_waiter(name) if self.host.ident == get_ident() else None
        if inline is None:
            # Driven from elsewhere than inline code (another thread, or async code
            # on the loop's thread, which the base class refuses clearly).
            return super().run(make, timeout, name)
        return _inline._block(inline, make, timeout, name)
