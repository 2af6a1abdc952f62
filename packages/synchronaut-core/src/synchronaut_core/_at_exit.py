"""Calls made once Python refuses to start threads: atexit hooks on Python 3.12.

CPython 3.12 refuses new threads once the interpreter began exiting, atexit hooks
included ("can't create new thread at interpreter shutdown"; 3.10, 3.11 and 3.13
allow them). A call from such a hook that needs a thread it cannot get -- the
background loop's (stopped by our own atexit hook when that ran first), a new
worker's -- runs on the calling thread instead, which is the main thread: a
coroutine on a loop of its own there, as ``asyncio.run`` would; a sync call
directly, where no timeout can be enforced. Everywhere else a refused thread start
stays the error it is.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from ._errors import _timeout_error

_logger = logging.getLogger("synchronaut")


def _threads_refused(exc: BaseException) -> bool:
    """Is ``exc`` Python refusing a new thread because the interpreter is exiting?

    Only on the main thread (atexit hooks run there; a daemon thread still running
    at exit is about to be frozen and is parked instead, see ``_loop``), and only
    once ``threading`` has begun its shutdown (set before atexit hooks run).
    """
    return (
        isinstance(exc, RuntimeError)
        and getattr(threading, "_SHUTTING_DOWN", False)
        and threading.current_thread() is threading.main_thread()
    )


def _park_if_refused(exc: BaseException) -> None:
    """Block forever if ``exc`` refused this thread work because Python is exiting.

    For any thread but the main one, once ``threading`` began its shutdown: such a
    thread is a daemon (the others were joined) that finalization is about to
    freeze, whose call came too late to get a thread -- ours, Trio's thread cache,
    a ``ThreadPoolExecutor`` ("cannot schedule new futures after interpreter
    shutdown"). Raising would print its traceback as the process ends; it waits
    instead, as it would on a call that never answers (see ``_loop._park_if_exiting``).
    Returns for every other error, which stays the error it is.
    """
    if (
        isinstance(exc, RuntimeError)
        and getattr(threading, "_SHUTTING_DOWN", False)
        and threading.current_thread() is not threading.main_thread()
    ):
        threading.Event().wait()


def _run_coroutine_here(
    coro: Coroutine[Any, Any, Any] | Callable[[], Coroutine[Any, Any, Any]],
    timeout: float | None,
    name: str,
) -> Any:
    """Run ``coro`` (or what the maker makes) on a new loop in this thread; its value.

    ``timeout`` is enforced: the coroutine is cancelled where it waits and
    :class:`CallAnyTimeout` raised. A loop already running in this thread (a blocking
    call made by a coroutine that itself runs this way) cannot have a second one:
    ``RuntimeError``, the coroutine closed unstarted.
    """
    # Imported here: ``_waits`` and ``_job`` import this module, ``_loop`` imports them.
    from ._loop import _get_loop_factory
    from ._loop_calls import _CANCEL_GRACE
    from ._run import _run_in_new_loop

    if asyncio._get_running_loop() is not None:  # pyright: ignore[reportPrivateUsage]
        if isinstance(coro, Coroutine):
            coro.close()
        raise _busy_loop_error(name)
    _logger.debug("synchronaut: no thread can start at exit; running %s on this thread", name)
    try:
        factory = _get_loop_factory()
    except BaseException:
        if isinstance(coro, Coroutine):
            coro.close()  # never started: no "never awaited" warning at exit
        raise
    made = coro if isinstance(coro, Coroutine) else coro()
    return _run_in_new_loop(factory, _bounded(made, timeout, name), _CANCEL_GRACE)


def _run_step_here(
    loop: asyncio.AbstractEventLoop,
    make: Callable[[], Coroutine[Any, Any, Any]],
    timeout: float | None,
    name: str,
) -> Any:
    """One step of an async object on its own loop in this thread (``_pinned._HerePin``)."""
    if asyncio._get_running_loop() is not None:  # pyright: ignore[reportPrivateUsage]
        raise _busy_loop_error(name)
    return loop.run_until_complete(_bounded(make(), timeout, name))


def _busy_loop_error(name: str) -> RuntimeError:
    return RuntimeError(
        f"cannot run {name}: Python is exiting and starts no more threads, and this "
        "thread's event loop is running the code that blocks on it; await it instead"
    )


async def _bounded(coro: Coroutine[Any, Any, Any], timeout: float | None, name: str) -> Any:
    if timeout is None:
        return await coro
    from ._loop_calls import _CANCEL_GRACE  # (a cycle at import time, as above)

    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        # Cancelled where it waits; its ``finally`` blocks run before the timeout is
        # reported -- within the grace any cancelled call gets, so a coroutine that
        # ignores cancellation cannot hold interpreter exit (the loop's closing
        # cancels it again, and leaves it).
        task.cancel()
        await asyncio.wait({task}, timeout=_CANCEL_GRACE)
        raise _timeout_error(name, timeout)
    return task.result()
