"""The event loop that sync code drives one async object on, chosen once for its life.

An async generator or async context manager used from sync code advances one step
per blocking call (``next()``, ``__enter__``), and every step must run on the same
loop: asyncio ties generators (through its asyncgen hooks), locks, queues and
sessions to the loop that first used them. The loop is chosen as
``_block_on_coroutine`` chooses one for a call -- the loop that offloaded this
thread (loop affinity), else the shared background loop -- but once, when the
object is wrapped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from . import _loop
from ._blocking import _run_on_loop
from ._cancel import _current

_get_running_loop = asyncio._get_running_loop  # pyright: ignore[reportPrivateUsage]

#: Makes the coroutine that a pinned loop runs on its own, unwatched (a close).
_CoroFactory = Callable[[], Coroutine[Any, Any, None]]


class _AsyncioPin:
    """An asyncio loop in another thread: the background loop, the origin, or a spare.

    ``spare`` is set when the loop was started for this object alone (the object was
    made on the background loop's own thread, which must not block on itself); it
    is stopped once the object is done with it.
    """

    __slots__ = ("host", "spare")

    def __init__(self, host: _loop._LoopHost, spare: _loop._LoopThread | None) -> None:
        self.host = host
        self.spare = spare

    def run(
        self, make: Callable[[], Coroutine[Any, Any, Any]], timeout: float | None, name: str
    ) -> Any:
        """Run ``make()`` on the pinned loop; block this thread for its outcome."""
        if _get_running_loop() is self.host.loop:
            # The pinned loop runs this very thread: blocking it would wait forever.
            raise RuntimeError(
                f"{name} runs on this thread's event loop and cannot be driven by blocking "
                "calls from it; use 'async for'/'async with' on the async object instead"
            )
        return _run_on_loop(self.host, make, timeout, name)  # made there: see its docstring

    def run_later(self, make: _CoroFactory) -> None:
        """From any thread, without blocking: start ``make()`` as a task on the loop.

        Used from ``__del__`` (and after a failed step), so it never raises: a loop
        that has already closed took its generators down with it.
        """
        try:
            self.host.loop.call_soon_threadsafe(_start_task, self.host.loop, make, self.spare)
        except RuntimeError:  # the loop has closed
            self.release()

    def release(self) -> None:
        """The object is done with the loop: stop it if it was started for the object."""
        spare, self.spare = self.spare, None
        if spare is not None:
            spare.stop(timeout=0)  # never joins: may run in __del__


def _start_task(
    loop: asyncio.AbstractEventLoop, make: _CoroFactory, spare: _loop._LoopThread | None
) -> None:
    # On the pinned loop's thread. ``make()`` swallows its own errors, so the task
    # never ends with an exception nobody retrieves.
    task = loop.create_task(make())
    if spare is not None:
        task.add_done_callback(lambda _task: spare._request_stop())


class _TrioPin:
    """The Trio run that offloaded this thread (loop affinity): steps go back to it."""

    __slots__ = ("token",)

    def __init__(self, token: Any) -> None:
        self.token = token

    def run(
        self, make: Callable[[], Coroutine[Any, Any, Any]], timeout: float | None, name: str
    ) -> Any:
        """Run ``make()`` in the Trio run (as a system task); block this thread for it.

        From the Trio thread itself, ``trio.from_thread`` refuses with RuntimeError.
        """
        from . import _trio

        coro = make()
        try:
            return _trio._run_from_thread(self.token, coro, timeout, name)
        except BaseException:
            coro.close()  # never started (this is the Trio thread): no "never awaited"
            raise

    def run_later(self, make: _CoroFactory) -> None:
        """From any thread, without blocking: start ``make()`` as a Trio system task."""
        with contextlib.suppress(RuntimeError):  # RunFinishedError: the run is over
            self.token.run_sync_soon(_spawn_system_task, make)

    def release(self) -> None:
        return None


def _spawn_system_task(make: _CoroFactory) -> None:
    # In the Trio thread (a run_sync_soon callback). ``make()`` swallows its errors:
    # a system task that raises would crash the whole run.
    import trio

    with contextlib.suppress(RuntimeError):  # the run is shutting down
        trio.lowlevel.spawn_system_task(make)


def _pin_loop(name: str) -> _AsyncioPin | _TrioPin:
    """Choose, once, the loop that drives an async object for this (sync) thread."""
    job = getattr(_current, "job", None)
    if job is not None and job.origin is not None:
        origin = job.origin
        if isinstance(origin, asyncio.AbstractEventLoop):
            if origin.is_running() and not origin.is_closed():
                return _AsyncioPin(_loop._ForeignLoop(origin), None)
        else:
            return _TrioPin(origin)
    if _loop._is_background_thread():
        spare = _loop._start_nested(
            "synchronaut: %s driven by blocking calls on the background loop's thread; "
            "it gets a loop of its own in another thread (use it asynchronously instead)",
            name,
        )
        return _AsyncioPin(spare, spare)
    return _AsyncioPin(_loop._get_background(), None)
