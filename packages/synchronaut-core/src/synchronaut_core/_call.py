"""``call_any`` and its explicit forms: one entry point for every sync/async quadrant.

Where the call is made decides what happens:

=================  ==================================  ============================
called from        ``func`` is ``def``                 ``func`` is ``async def``
=================  ==================================  ============================
plain sync code    direct call (with ``timeout`` or    run on the background loop,
                   ``force_offload``: in the executor)  block for the value
inside asyncio     awaitable; runs in the executor     awaitable of the coroutine
inside Trio        awaitable; runs in a Trio thread    awaitable of the coroutine
=================  ==================================  ============================
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from inspect import isawaitable
from types import CoroutineType
from typing import Any

from . import _asyncio
from ._blocking import (
    _block_on_coroutine,
    _call_in_executor_blocking,
    _call_thread_sensitive_blocking,
)
from ._detect import _CO_ASYNC, _func_name, _is_async, _is_async_slow, _trio_running
from ._sensitive import _sensitive_runner

__all__ = ["CallOptions", "call_any", "call_async", "call_sync"]

_logger = logging.getLogger("synchronaut")
_get_running_loop = asyncio._get_running_loop  # pyright: ignore[reportPrivateUsage]
_modules = sys.modules
_trio_impl: Any = None


def _trio() -> Any:
    """Our Trio module, imported on first use (only ever once Trio is running)."""
    global _trio_impl
    if _trio_impl is None:
        from . import _trio as module

        _trio_impl = module
    return _trio_impl


def _check_timeout(timeout: object) -> float:
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout < math.inf  # also rejects NaN
    ):
        raise ValueError(
            f"timeout must be None or a positive, finite number of seconds, got {timeout!r}"
        )
    return timeout


class CallOptions:
    """``call_any`` with its options bound, leaving every keyword to the callee.

    ``CallOptions(timeout=1)(func, x, timeout=5)`` calls ``func(x, timeout=5)`` with a
    one-second limit: use it when the callee has a parameter named like one of the
    options. ``.sync(...)`` and ``.async_(...)`` are the bound forms of
    :func:`call_sync` and :func:`call_async`. Options are checked here, once:
    ``ValueError``/``TypeError`` as for :func:`call_any`.
    """

    __slots__ = ("executor", "force_offload", "thread_sensitive", "timeout")

    def __init__(
        self,
        *,
        timeout: float | None = None,
        executor: Executor | None = None,
        force_offload: bool = False,
        thread_sensitive: bool = False,
    ) -> None:
        if timeout is not None:
            _check_timeout(timeout)
        if executor is not None and not isinstance(executor, Executor):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"executor must be a concurrent.futures.Executor or None, "
                f"got {executor!r} ({type(executor).__name__})"
            )
        if thread_sensitive and executor is not None:
            raise ValueError(
                "thread_sensitive calls run on their own dedicated thread; "
                "they cannot also be given an executor"
            )
        self.timeout = timeout
        self.executor = executor
        self.force_offload = bool(force_offload)
        self.thread_sensitive = bool(thread_sensitive)

    def __call__(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """As :func:`call_any`, with these options."""
        return _dispatch(func, args, kwargs, self)

    def sync(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """As :func:`call_sync`, with these options."""
        return _call_sync(func, args, kwargs, self)

    def async_(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        """As :func:`call_async`, with these options."""
        return _call_async(func, args, kwargs, self)

    def __repr__(self) -> str:
        return (
            f"CallOptions(timeout={self.timeout!r}, executor={self.executor!r}, "
            f"force_offload={self.force_offload!r}, thread_sensitive={self.thread_sensitive!r})"
        )


_NO_OPTIONS = CallOptions()


def _options(
    timeout: float | None, executor: Executor | None, force_offload: bool, thread_sensitive: bool
) -> CallOptions:
    if timeout is None and executor is None and not force_offload and not thread_sensitive:
        return _NO_OPTIONS
    return CallOptions(
        timeout=timeout,
        executor=executor,
        force_offload=force_offload,
        thread_sensitive=thread_sensitive,
    )


def _dispatch(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], options: CallOptions
) -> Any:
    """``call_any`` without its fast path (options already checked)."""
    is_async = _is_async(func)
    timeout = options.timeout
    if _get_running_loop() is not None:
        if is_async:
            coro = func(*args, **kwargs)
            if timeout is None:
                return coro
            return _asyncio._with_timeout(coro, timeout, _func_name(func))
        return _asyncio._offload(
            func, args, kwargs, timeout, _offload_target(options), _func_name(func)
        )
    if "trio" in _modules and _trio_running():
        trio = _trio()
        if is_async:
            coro = func(*args, **kwargs)
            if timeout is None:
                return coro
            return trio._with_timeout(coro, timeout, _func_name(func))
        return trio._offload(
            func, args, kwargs, timeout, _offload_target(options), _func_name(func)
        )
    return _call_blocking(func, args, kwargs, options, is_async)


def _offload_target(options: CallOptions) -> Any:
    return _sensitive_runner() if options.thread_sensitive else options.executor


def _call_blocking(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: CallOptions,
    is_async: bool,
) -> Any:
    """Call ``func`` and block for its value (options already checked)."""
    timeout = options.timeout
    if is_async:
        awaitable = func(*args, **kwargs)
        if type(awaitable) is CoroutineType:
            return _block_on_coroutine(awaitable, timeout, _func_name(func))  # pyright: ignore[reportUnknownArgumentType]
        if isawaitable(awaitable):  # a Future, or an object with __await__
            return _block_on_coroutine(_await(awaitable), timeout, _func_name(func))
        # A function-like wrapper (such as synchronaut's decorator) that resolved
        # itself for this sync caller: that is the value.
        return awaitable
    if options.thread_sensitive:
        result = _call_thread_sensitive_blocking(func, args, kwargs, timeout, _func_name(func))
    elif timeout is None and not options.force_offload:
        result = func(*args, **kwargs)
    else:
        result = _call_in_executor_blocking(
            func, args, kwargs, timeout, options.executor, _func_name(func)
        )
    if type(result) is CoroutineType:
        # A sync callable that returned a coroutine (say, a lambda around an async
        # call): run it rather than hand back a coroutine nobody will await.
        return _block_on_coroutine(result, timeout, _func_name(func))  # pyright: ignore[reportUnknownArgumentType]
    return result


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def call_any(
    func: Callable[..., Any],
    /,
    *args: Any,
    timeout: float | None = None,
    executor: Executor | None = None,
    force_offload: bool = False,
    thread_sensitive: bool = False,
    **kwargs: Any,
) -> Any:
    """Call ``func(*args, **kwargs)`` the right way for where you are.

    - In plain sync code (no event loop running in this thread, worker threads
      included) it returns the value: a ``def`` is called directly -- or, with
      ``timeout`` or ``force_offload``, run in the executor while this thread waits --
      and an ``async def`` runs on an event loop while this thread blocks: the loop
      that offloaded this thread's work, if synchronaut did, else the shared
      background loop.
    - Inside asyncio or Trio it returns an awaitable: a ``def`` runs in a worker thread
      (the executor; under Trio, ``trio.to_thread`` unless ``executor`` is given) and an
      ``async def`` is awaited in the calling task.

    ``timeout`` (seconds) raises :class:`CallAnyTimeout`; a timed-out coroutine is
    cancelled (its ``finally`` blocks run), timed-out sync code cannot be killed and
    is abandoned (see :func:`check_cancelled`). ``executor`` is any
    ``concurrent.futures.Executor`` for offloaded sync work (default:
    :func:`get_default_executor`). ``thread_sensitive=True`` runs a sync ``func`` on
    the thread of the outermost sync caller (which serves such calls while it waits
    on async code), or on one dedicated thread when there is none (see
    :func:`thread_sensitive_context`) -- for DB connections bound to a thread. The
    callee sees the caller's ContextVars, and its changes to them are visible to the
    caller afterwards, as with a direct call. Its exceptions propagate unchanged,
    with their tracebacks.

    To pass the callee keyword arguments named like these options, use
    :class:`CallOptions`.

    Raises ``TypeError`` if ``func`` is not callable or ``executor`` is not an
    Executor, and ``ValueError`` if ``timeout`` is not ``None`` or a positive finite
    number, or if ``thread_sensitive`` comes with an ``executor`` -- before anything
    runs.
    """
    if timeout is None and executor is None and not force_offload and not thread_sensitive:
        # Hot paths, kept flat on purpose: no option to check, a cheap classification.
        try:
            flags = func.__code__.co_flags  # type: ignore[attr-defined]
        except AttributeError:
            flags = _CO_ASYNC if _is_async_slow(func) else 0
        if flags & _CO_ASYNC:
            if _get_running_loop() is not None:
                return func(*args, **kwargs)  # asyncio -> async: await it in this task
        elif _get_running_loop() is None and "trio" not in _modules:
            result = func(*args, **kwargs)  # sync -> sync: a direct call
            if type(result) is CoroutineType:
                return _block_on_coroutine(result, None, _func_name(func))  # pyright: ignore[reportUnknownArgumentType]
            return result
        return _dispatch(func, args, kwargs, _NO_OPTIONS)
    return _dispatch(
        func, args, kwargs, _options(timeout, executor, force_offload, thread_sensitive)
    )


def _call_sync(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], options: CallOptions
) -> Any:
    is_async = _is_async(func)
    if is_async and (_get_running_loop() is not None or ("trio" in _modules and _trio_running())):
        _logger.warning(
            "synchronaut: blocking call to %s stalls this thread's running event loop "
            "until it returns; await it instead to keep the loop serving",
            _func_name(func),
        )
    return _call_blocking(func, args, kwargs, options, is_async)


def call_sync(
    func: Callable[..., Any],
    /,
    *args: Any,
    timeout: float | None = None,
    executor: Executor | None = None,
    force_offload: bool = False,
    thread_sensitive: bool = False,
    **kwargs: Any,
) -> Any:
    """Call ``func(*args, **kwargs)`` and block until its value, from any thread.

    Like :func:`call_any` in plain sync code, but also where an event loop is running:
    there a coroutine cannot run on the blocked loop, so it runs on the background
    loop (or, on the background loop's own thread, on a temporary loop in another
    thread) -- it completes instead of deadlocking, and a warning is logged because
    the calling loop is stalled meanwhile. Raises as :func:`call_any` does.
    """
    return _call_sync(
        func, args, kwargs, _options(timeout, executor, force_offload, thread_sensitive)
    )


async def _await_later(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], options: CallOptions
) -> Any:
    # Runs when awaited, inside whichever event loop awaits it.
    return await _dispatch(func, args, kwargs, options)


def _call_async(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], options: CallOptions
) -> Awaitable[Any]:
    _is_async(func)  # TypeError now for a non-callable
    if _get_running_loop() is not None or ("trio" in _modules and _trio_running()):
        return _dispatch(func, args, kwargs, options)
    return _await_later(func, args, kwargs, options)


def call_async(
    func: Callable[..., Any],
    /,
    *args: Any,
    timeout: float | None = None,
    executor: Executor | None = None,
    thread_sensitive: bool = False,
    **kwargs: Any,
) -> Awaitable[Any]:
    """Return an awaitable of ``func(*args, **kwargs)``, wherever it is called.

    A ``def`` is offloaded to a worker thread, an ``async def`` is awaited in the
    awaiting task. Made in plain sync code, the returned awaitable can be awaited
    later in asyncio or Trio. Raises as :func:`call_any` does, before anything runs.
    """
    return _call_async(func, args, kwargs, _options(timeout, executor, False, thread_sensitive))
