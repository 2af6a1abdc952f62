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

Generator functions give iterators of the caller's colour: an ``async def ... yield``
called from plain sync code gives a blocking iterator over it (``_agen``), and
inside a loop the async generator itself; a sync generator called inside asyncio or
Trio gives an async iterator that runs it on a thread of its own (``_sgen``), and in
plain sync code the generator itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine, Generator
from concurrent.futures import Executor
from inspect import (
    CO_ASYNC_GENERATOR,
    CO_COROUTINE,
    CO_GENERATOR,
    isawaitable,
    iscoroutinefunction,
)
from types import CoroutineType, FunctionType, MethodType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from . import _accelerator, _backends
from ._backends import _current_backend, _load_asyncio, _trio
from ._detect import (
    _CO_ASYNC,
    _COROUTINE_TYPES,
    _await,
    _close_if_unstarted,
    _close_quietly,
    _func_name,
    _is_async_slow,
    _is_coroutine_type,
    _learned,
    _marked_async,
    _trio_running,
)
from ._first_use import _load_machinery
from ._validate import _check_timeout

# The machinery of the slower paths -- blocking on a loop (``_blocking``: the loop
# thread, the pool, the waits), offloading, iterators, the thread-sensitive runner -- is
# imported where those paths start (``_first_use``: whole, even under Ctrl-C), not here:
# ``from synchronaut_core import call_any`` then costs what the classification needs.
# Its entry points are bound to this module's names once, by ``_machinery()``: an import
# statement in the function, even of a loaded module, costs ~0.6 us on every call (the
# import system checks the package's spec each time), a few per cent of a blocking call.
# Inline mode (``_inline``, greenlet) is loaded the same way when it is first asked for
# (``_load_inline``).
if TYPE_CHECKING:
    from . import _inline  # bound at run time by _load_inline
    from ._async_iter import ThreadIterator, _thread_iterator
    from ._backends import _Backend
    from ._blocking import (
        _block_on_coroutine,
        _call_in_executor_blocking,
        _call_thread_sensitive_blocking,
    )
    from ._inline import _Inline
    from ._sensitive import _sensitive_runner
    from ._sync_iter import BlockingIterator, _blocking_iterator
    from ._timed import _TimedAsyncIterator
else:
    # Bound by _machinery(): None until the machinery is first needed.
    _block_on_coroutine = _call_in_executor_blocking = _call_thread_sensitive_blocking = None
    _thread_iterator = _blocking_iterator = _TimedAsyncIterator = _sensitive_runner = None

__all__ = ["CallOptions", "call_any", "call_async", "call_sync"]

_logger = logging.getLogger("synchronaut")
_modules = sys.modules

T = TypeVar("T")
P = ParamSpec("P")
_get_running_loop = asyncio._get_running_loop  # pyright: ignore[reportPrivateUsage]
_set_running_loop = asyncio._set_running_loop  # pyright: ignore[reportPrivateUsage]

_machinery_bound = False


def _machinery() -> None:
    """The slower paths' machinery imported (``_load_machinery``: whole, even under
    Ctrl-C) and its entry points bound to this module's names; once, cheap after that.

    Raises the ``KeyboardInterrupt`` that landed in the import, once the modules are in
    place (the names are bound on the next call then)."""
    global _machinery_bound, _block_on_coroutine, _call_in_executor_blocking
    global _call_thread_sensitive_blocking, _thread_iterator, _blocking_iterator
    global _TimedAsyncIterator, _sensitive_runner
    if _machinery_bound:
        return
    _load_machinery()
    from ._async_iter import _thread_iterator
    from ._blocking import (
        _block_on_coroutine,
        _call_in_executor_blocking,
        _call_thread_sensitive_blocking,
    )
    from ._sensitive import _sensitive_runner
    from ._sync_iter import _blocking_iterator
    from ._timed import _TimedAsyncIterator

    _machinery_bound = True


#: ``co_flags`` bits of generator functions (``_CO_ASYNC`` is tested first: a
#: ``@types.coroutine`` generator has CO_GENERATOR too, and is awaitable).
_CO_AGEN = CO_ASYNC_GENERATOR
_CO_ITER = CO_ASYNC_GENERATOR | CO_GENERATOR
#: What the asyncio fast path calls directly: a coroutine to await, or an async
#: generator to ``async for`` over.
_CO_ASYNC_OR_AGEN = _CO_ASYNC | CO_ASYNC_GENERATOR


def _flags(func: Callable[..., Any]) -> int:
    """``func``'s ``co_flags`` (or the bits ``_flags_slow`` finds); TypeError if not callable.

    A ``def`` marked with ``inspect.markcoroutinefunction`` counts as ``_CO_ASYNC``:
    its caller awaits what it returns, in the calling task, as for an ``async def``.
    """
    try:
        flags: int = func.__code__.co_flags  # type: ignore[attr-defined]
    except AttributeError:
        return _flags_slow(func)
    if flags & _CO_ASYNC or not _marked_async(func):
        return flags
    return _CO_ASYNC


def _flags_slow(func: object) -> int:
    """Classify callables without a ``__code__``: partials, callable instances, builtins.

    ``_CO_ASYNC`` exactly when ``_detect._is_async_slow`` says async (partials
    unwrapped, ``inspect.markcoroutinefunction`` honoured, an instance's ``__call__``
    looked at), else the generator bits of the code that a call runs. One pass, as
    it is on the fast path of such callables. TypeError for a non-callable.
    """
    if not callable(func):
        _is_async_slow(func)  # raises the TypeError, worded as everywhere else
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func  # pyright: ignore[reportUnknownMemberType]
    if iscoroutinefunction(target):
        return _CO_ASYNC
    code = getattr(target, "__code__", None)
    if code is not None:
        return code.co_flags & (_CO_ASYNC | _CO_ITER)
    if isinstance(target, type):
        return 0  # calling a class builds an instance
    call = getattr(type(target), "__call__", None)  # noqa: B004  # pyright: ignore[reportUnknownArgumentType]
    if call is None:
        return 0
    if iscoroutinefunction(call):
        return _CO_ASYNC
    code = getattr(call, "__code__", None)
    return code.co_flags & _CO_ITER if code is not None else 0


class CallOptions:
    """``call_any`` with its options bound, leaving every keyword to the callee.

    ``CallOptions(timeout=1)(func, x, timeout=5)`` calls ``func(x, timeout=5)`` with a
    one-second limit: use it when the callee has a parameter named like one of the
    options. ``.sync(...)`` and ``.async_(...)`` are the bound forms of
    :func:`call_sync` and :func:`call_async`. Options are checked here, once:
    ``ValueError``/``TypeError`` as for :func:`call_any`. Every entry point
    (``call_any``, ``call_sync``, ``call_async``, the decorator) checks its options by
    building one of these, so all of them accept and refuse the same values.
    """

    __slots__ = ("executor", "force_offload", "inline", "thread_sensitive", "timeout")

    timeout: float | None
    executor: Executor | None
    force_offload: bool
    thread_sensitive: bool
    inline: bool

    def __init__(
        self,
        *,
        timeout: float | None = None,
        executor: Executor | None = None,
        force_offload: bool = False,
        thread_sensitive: bool = False,
        inline: bool = False,
    ) -> None:
        if timeout is not None:
            _check_timeout(timeout)
        if executor is not None and not isinstance(executor, Executor):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"executor must be a concurrent.futures.Executor or None, "
                f"got {executor!r} ({type(executor).__name__})"
            )
        _check_flag(force_offload, "force_offload")
        _check_flag(thread_sensitive, "thread_sensitive")
        if thread_sensitive and executor is not None:
            raise ValueError(
                "thread_sensitive calls run on their own dedicated thread; "
                "they cannot also be given an executor"
            )
        _check_flag(inline, "inline")
        if inline:
            _check_inline(thread_sensitive, executor, "")
            _load_inline()
        self.timeout = timeout
        self.executor = executor
        self.force_offload = force_offload
        self.thread_sensitive = thread_sensitive
        self.inline = inline

    def __call__(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """As :func:`call_any`, with these options."""
        return _dispatch(func, args, kwargs, self)

    # The overloads of sync() and async_() give the value's type from the callee's:
    # an ``async def`` (a coroutine function) or a ``def``, generator functions apart.
    @overload
    def sync(
        self, func: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T: ...
    @overload
    def sync(
        self, func: Callable[P, AsyncGenerator[T, Any]], /, *args: P.args, **kwargs: P.kwargs
    ) -> BlockingIterator[T]: ...
    @overload
    def sync(self, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...
    def sync(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """As :func:`call_sync`, with these options."""
        return _call_sync(func, args, kwargs, self)

    @overload
    def async_(
        self, func: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> Awaitable[T]: ...
    @overload
    def async_(
        self, func: Callable[P, AsyncGenerator[T, Any]], /, *args: P.args, **kwargs: P.kwargs
    ) -> AsyncIterator[T]: ...
    @overload
    def async_(
        self, func: Callable[P, Generator[T, Any, Any]], /, *args: P.args, **kwargs: P.kwargs
    ) -> ThreadIterator[T]: ...
    @overload
    def async_(
        self, func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Awaitable[T]: ...
    def async_(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """As :func:`call_async`, with these options."""
        return _call_async(func, args, kwargs, self)

    def __repr__(self) -> str:
        return (
            f"CallOptions(timeout={self.timeout!r}, executor={self.executor!r}, "
            f"force_offload={self.force_offload!r}, thread_sensitive={self.thread_sensitive!r}, "
            f"inline={self.inline!r})"
        )


def _check_inline(thread_sensitive: bool, executor: Executor | None, where: str) -> None:
    """``inline`` goes with neither ``thread_sensitive`` nor ``executor`` (ValueError).

    Inline code runs on the event loop's own thread: a dedicated thread or an
    executor would be another place to run it. ``where`` names the levels when the
    options come from two of them (a decorator and a call).
    """
    if thread_sensitive:
        raise ValueError(
            f"inline=True runs the function on the event loop's own thread{where}; it cannot "
            "also be thread_sensitive (which runs it on a dedicated thread)"
        )
    if executor is not None:
        raise ValueError(
            f"inline=True runs the function on the event loop's own thread{where}; it cannot "
            "also be given an executor"
        )


#: ``_inline._running_inline`` (the inline call whose greenlet runs this thread, or
#: None), once inline mode was first asked for (and with it the module global
#: ``_inline``): before that no inline call can be running, so the hot path need not
#: look for one, and no option says inline.
_running_inline: Callable[[], _Inline | None] | None = None


def _load_inline() -> None:
    """Load inline mode where it is first asked for (a ``CallOptions(inline=True)``).

    In the thread making the options: the machinery whole (``_first_use``), then
    ``_inline`` and greenlet -- ImportError naming the extra when greenlet is missing,
    before anything runs. Only after that does the hot path look for inline calls.
    """
    global _inline, _running_inline
    if _running_inline is not None:
        return
    _load_machinery()
    from . import _inline

    _inline._require_greenlet()
    if _speedups is not None:
        # From now on the C call_any hands inline code's coroutines to the task
        # driving it too (its hot path, as below in Python).
        _speedups.setup_inline(
            _set_running_loop, _inline._getcurrent, _inline._greenlet, _inline._enter
        )
    _running_inline = _inline._running_inline


def _check_flag(value: object, what: str) -> None:
    """``force_offload``/``thread_sensitive``/``inline``: exactly True or False (TypeError
    otherwise).

    ``force_offload="no"`` or ``thread_sensitive=1`` is a mistake, not a setting: a
    truthy string would silently mean True.
    """
    if value is not True and value is not False:
        raise TypeError(f"{what} must be True or False, got {value!r} ({type(value).__name__})")


_NO_OPTIONS = CallOptions()
#: ``CallOptions(inline=True)``, made on first use (making it imports greenlet).
_inline_only: CallOptions | None = None


def _options(
    timeout: float | None,
    executor: Executor | None,
    force_offload: bool,
    thread_sensitive: bool,
    inline: bool = False,
) -> CallOptions:
    # ``is False``, not ``not``: a falsy non-bool (0, None, "") is checked, not taken
    # for "no option".
    if (
        timeout is None
        and executor is None
        and force_offload is False
        and thread_sensitive is False
    ):
        if inline is False:
            return _NO_OPTIONS
        if inline is True:
            return _inline_only or _make_inline_only()
    return CallOptions(
        timeout=timeout,
        executor=executor,
        force_offload=force_offload,
        thread_sensitive=thread_sensitive,
        inline=inline,
    )


def _make_inline_only() -> CallOptions:
    global _inline_only
    _inline_only = CallOptions(inline=True)
    return _inline_only


def _stack(inner: CallOptions, outer: CallOptions, func: object) -> CallOptions:
    """The options of a call through ``outer`` of a function decorated with ``inner``.

    Options stack: those given at the outer level apply on top of the decorator's.
    The tightest timeout wins; an outer ``executor`` replaces the inner one;
    ``force_offload``, ``thread_sensitive`` and ``inline`` hold if either level sets
    them. ``thread_sensitive`` at one level with an ``executor`` at the other is
    refused (ValueError), as it is within one level: a thread-sensitive function must
    keep its thread, and an explicit executor must not be ignored; so is ``inline``
    at one level with either of them at the other.
    """
    if outer is _NO_OPTIONS:
        return inner
    if inner is _NO_OPTIONS:
        return outer
    timeout = inner.timeout
    if outer.timeout is not None and (timeout is None or outer.timeout < timeout):
        timeout = outer.timeout
    executor = outer.executor if outer.executor is not None else inner.executor
    thread_sensitive = outer.thread_sensitive or inner.thread_sensitive
    if thread_sensitive and executor is not None:
        raise ValueError(
            f"{_func_name(func)} is called with thread_sensitive at one level (the "
            "decorator or the call) and an executor at the other: thread_sensitive calls "
            "run on their own dedicated thread and cannot also be given an executor"
        )
    inline = outer.inline or inner.inline
    if inline:
        _check_inline(
            thread_sensitive,
            executor,
            f" ({_func_name(func)} is called with inline at one level, the decorator or the "
            "call, and this at the other)",
        )
    return CallOptions(
        timeout=timeout,
        executor=executor,
        force_offload=outer.force_offload or inner.force_offload,
        thread_sensitive=thread_sensitive,
        inline=inline,
    )


#: The base class of synchronaut's decorated functions (``_decorator._Wrapper``), looked
#: up on first use: that module imports this one.
_wrapper_type: type | None = None


def _load_wrapper_type() -> type:
    global _wrapper_type
    from ._decorator import _Wrapper

    _wrapper_type = _Wrapper
    return _Wrapper


def _unwrap(func: Any, options: CallOptions) -> tuple[Callable[..., Any], CallOptions]:
    """A decorated function: its original, with the decorator's options under ``options``.

    A call of a decorated function through ``call_any``/``call_sync``/``call_async``
    (or a decoration of one) is a call of the original with the stacked options
    (``_stack``): so the outer options apply in every context, and the original --
    not a wrapper that would decide for itself where it is -- is what runs where the
    call is placed (a wrapper called on a worker thread, or inside Trio and handed
    to the background loop, would decide for the wrong context).
    """
    while isinstance(func, _wrapper_type or _load_wrapper_type()):
        options = _stack(func._options, options, func)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType, reportAttributeAccessIssue]
        func = func._func  # pyright: ignore[reportUnknownMemberType, reportAttributeAccessIssue]
    return func, options


def _dispatch(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: CallOptions,
    backend: _Backend | None = None,
    known: bool = False,
) -> Any:
    """``call_any`` without its fast path (options already checked).

    ``backend`` is ``_current_backend()`` when the caller already asked (``known``).
    """
    if not known:
        backend = _current_backend()
    if isinstance(func, _wrapper_type or _load_wrapper_type()):
        func, options = _unwrap(func, options)
    flags = _flags(func)
    is_async = bool(flags & _CO_ASYNC)
    if not is_async and flags & _CO_ITER:
        return _iterate(func, args, kwargs, options, flags, backend is not None)
    if backend is None:
        return _call_blocking(func, args, kwargs, options, is_async)
    timeout = options.timeout
    if is_async:
        awaitable = func(*args, **kwargs)
        if timeout is None:
            return awaitable
        # A marked def (or an object's async __call__) may return any awaitable; the
        # timeout machinery steps a coroutine.
        coro: Coroutine[Any, Any, Any] = (
            cast("Coroutine[Any, Any, Any]", awaitable)
            if type(awaitable) is CoroutineType
            else _await(awaitable)
        )
        return backend._with_timeout(coro, timeout, _func_name(func))
    if options.inline:
        # Run on this loop's thread in a greenlet the awaiting task drives (_inline,
        # bound here when these options were made: _load_inline).
        return _inline._run(func, args, kwargs, timeout, backend, _func_name(func))
    return backend._offload(func, args, kwargs, timeout, _offload_target(options), _func_name(func))


def _iterate(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: CallOptions,
    flags: int,
    in_loop: bool,
) -> Any:
    """Call a generator function; give an iterator for a sync or an async consumer.

    Calling it runs none of its code, so the call itself happens here, in any thread.
    If ``func`` is a wrapper that already made the right kind of iterator (such as
    synchronaut's decorator), that is returned as it is.
    """
    name = _func_name(func)
    timeout = options.timeout
    if flags & _CO_AGEN:
        agen = func(*args, **kwargs)
        if not hasattr(agen, "__anext__"):
            return agen
        if in_loop:
            if timeout is None:
                return agen
            _machinery()
            return _TimedAsyncIterator(agen, timeout, name)
        _machinery()
        return _blocking_iterator(agen, timeout, name)
    gen = func(*args, **kwargs)
    if not in_loop or not hasattr(gen, "__next__"):
        return gen  # plain sync code: the generator is already the iterator it needs
    if options.inline:
        return _inline._inline_iterator(gen, timeout, name)  # each step run inline
    if options.executor is not None:
        raise ValueError(
            f"{name} is a generator function: it runs on a dedicated thread of its own "
            "for its whole life, and cannot be given an executor"
        )
    _machinery()
    return _thread_iterator(gen, timeout, 0, options.thread_sensitive, name)


def _offload_target(options: CallOptions) -> Any:
    if not options.thread_sensitive:
        return options.executor
    _machinery()
    return _sensitive_runner()


def _is_plain_async_def(func: Callable[..., Any]) -> bool:
    """Is ``func`` an ``async def`` function (or a bound method of one)?"""
    target: Any = func.__func__ if type(func) is MethodType else func  # pyright: ignore[reportFunctionMemberAccess]
    return type(target) is FunctionType and bool(target.__code__.co_flags & CO_COROUTINE)


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
        _machinery()
        if _is_plain_async_def(func):
            # A plain ``async def``: its coroutine is made on the loop's thread, where
            # Ctrl-C never lands (see _blocking._LoopCall.start). Any other callable
            # may do work or resolve itself when called: it is called here.
            return _block_on_coroutine(
                functools.partial(func, *args, **kwargs), timeout, _func_name(func)
            )
        awaitable = func(*args, **kwargs)
        if type(awaitable) is CoroutineType:
            coro = cast("Coroutine[Any, Any, Any]", awaitable)
        elif isawaitable(awaitable):
            # What an async callable gave is awaited, whatever it is (a coroutine of
            # another type, a Future, an object with __await__): it was asked for.
            return _run_awaitable(awaitable, timeout, _func_name(func))
        else:
            # A function-like wrapper that resolved itself for this sync caller: that
            # is the value.
            return awaitable
        try:
            return _block_on_coroutine(coro, timeout, _func_name(func))
        except BaseException:
            # Ctrl-C on the entry of _block_on_coroutine, before it owned the
            # coroutine: this frame still holds it (here, not in a helper: a
            # helper's own entry would be the same gap).
            _close_if_unstarted(coro)
            raise
    if options.thread_sensitive:
        _machinery()
        result = _call_thread_sensitive_blocking(func, args, kwargs, timeout, _func_name(func))
    elif timeout is None and not options.force_offload:
        result = func(*args, **kwargs)
    else:
        _machinery()
        result = _call_in_executor_blocking(
            func, args, kwargs, timeout, options.executor, _func_name(func)
        )
    if type(result) is CoroutineType:
        # A sync callable that returned a coroutine (say, a lambda around an async
        # call): run it rather than hand back a coroutine nobody will await. (The
        # import is inside the ``try``: an interrupt there still closes ``result``.)
        try:
            _machinery()
            return _block_on_coroutine(result, timeout, _func_name(func))  # pyright: ignore[reportUnknownArgumentType]
        except BaseException:
            _close_if_unstarted(result)  # pyright: ignore[reportUnknownArgumentType]
            raise
    if _is_coroutine_type(type(result)):  # pyright: ignore[reportUnknownArgumentType]
        # Any other coroutine (aiosqlite's ``db.execute(...)`` is a def returning
        # one): run it too. Other awaitables are values (see _detect).
        return _run_awaitable(result, timeout, _func_name(func))
    return result


def _run_awaitable(awaitable: Awaitable[Any], timeout: float | None, name: str) -> Any:
    """Run a non-native coroutine (or another awaitable) for a sync caller; its value.

    The loop is given a native coroutine awaiting it. Should the handover fail (an
    interrupt, a refused loop) before that coroutine started, ``awaitable`` is closed
    too when it is a coroutine: never "coroutine ... was never awaited" from the
    native coroutine it may wrap.
    """
    coro = _await(awaitable)
    try:
        _machinery()
        return _block_on_coroutine(coro, timeout, name)
    except BaseException:
        _close_if_unstarted(coro)
        if coro.cr_frame is None and _is_coroutine_type(type(awaitable)):
            # Ours never ran (closed just now or by the failed handover), or it
            # finished, and then closing is harmless: the awaited one is ours to close.
            _close_quietly(awaitable)
        raise


def call_any(
    func: Callable[..., Any],
    /,
    *args: Any,
    timeout: float | None = None,
    executor: Executor | None = None,
    force_offload: bool = False,
    thread_sensitive: bool = False,
    inline: bool = False,
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

    Generator functions give iterators. An ``async def`` with ``yield`` gives, in plain
    sync code, a :class:`BlockingIterator` (each ``next()`` runs one step on the loop
    chosen as above, within ``timeout``), and inside a loop the async generator
    itself (with ``timeout``: a wrapper enforcing it per item). A sync generator
    function gives, inside a loop, a :class:`ThreadIterator` (``async for``; the
    generator runs on one dedicated thread -- or with ``thread_sensitive=True`` the
    thread-sensitive one -- for its whole life, each item within ``timeout``; an
    ``executor`` is refused with ``ValueError``), and in plain sync code the generator
    itself, called directly whatever the options.

    ``inline=True`` (needs the ``inline`` extra: greenlet) runs a ``def`` called
    inside asyncio or Trio on the loop's own thread, in a greenlet that the awaiting
    task drives: no thread, no hop. Inside it every bridge call behaves as in plain
    sync code -- ``call_any``/``call_sync`` of an ``async def``, decorated functions,
    ``sync_iter``, ``sync_cm`` give values -- by suspending the greenlet while the
    awaiting task awaits the coroutine (same loop, same ContextVars); sync callees
    are direct calls, and ``force_offload=True`` sends a blocking step to a thread
    that the task awaits. Cancelling the task (or ``timeout``) raises where the inline
    code waits in a bridge call -- plain Python between bridge calls cannot be
    interrupted, and blocks the loop (see :func:`set_inline_blocking_threshold`). A
    sync generator function gives an :class:`InlineIterator` (each step inline). In
    plain sync code, worker threads and inline code itself, ``inline`` changes
    nothing: the call is what it would be without it. An ``async def`` is awaited as
    always.

    To pass the callee keyword arguments named like these options, use
    :class:`CallOptions`.

    Raises ``TypeError`` if ``func`` is not callable or ``executor`` is not an
    Executor, ``ValueError`` if ``timeout`` is not ``None`` or a positive finite
    number, or if ``thread_sensitive`` comes with an ``executor``, or ``inline`` with
    either, and ``ImportError`` for ``inline=True`` without greenlet -- before
    anything runs.
    """
    if (
        timeout is None
        and executor is None
        and force_offload is False
        and thread_sensitive is False
        and inline is False
    ):
        # No option: the hot paths (one copy of them, in _call_any_fast).
        return _call_any_fast(func, *args, **kwargs)
    return _dispatch(
        func, args, kwargs, _options(timeout, executor, force_offload, thread_sensitive, inline)
    )


def _bind_options(
    *,
    timeout: float | None = None,
    executor: Executor | None = None,
    force_offload: bool = False,
    thread_sensitive: bool = False,
    inline: bool = False,
    **kwargs: Any,
) -> tuple[float | None, Executor | None, bool, bool, bool, dict[str, Any]]:
    """The options among a call's keywords, and the callee's keywords left over.

    The parameters of ``call_any``'s own (same names, order and defaults; a test holds
    them together): Python's binding decides which keyword is an option, as it does
    for ``call_any``'s signature -- a ``str`` subclass compared by its ``==`` too.
    """
    return timeout, executor, force_offload, thread_sensitive, inline, kwargs


# Its binding errors (a keyword given twice) name call_any, as the specification's do.
_bind_options.__name__ = _bind_options.__qualname__ = "call_any"


def _call_any_fast(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``call_any``'s hot paths, flat: what ``call_any`` is without the C accelerator.

    The specification's own signature costs: CPython fills in five keyword-only
    defaults on every call (~45 ns, more than the direct call it wraps). This entry
    takes ``**kwargs`` alone; a call naming an option has them bound by
    ``_bind_options`` (the specification's parameters, so Python binds them exactly
    as there) and goes to ``_dispatch`` as there. Every other call is classified
    here (``_current_backend()`` unrolled), as the C path does, and anything but a
    direct call or a coroutine to await goes to ``_dispatch``.
    """
    if kwargs:
        for name in kwargs:
            if type(name) is not str or name in _OPTION_SET:
                # An option (or a str subclass, which Python's binding compares with each
                # option name by ``==``): bound as the specification's signature binds it.
                timeout, executor, force_offload, thread_sensitive, inline, kwargs = _bind_options(
                    **kwargs
                )
                options = _options(timeout, executor, force_offload, thread_sensitive, inline)
                if options is not _NO_OPTIONS:
                    return _dispatch(func, args, kwargs, options)
                break  # only the defaults, named: the hot paths, as without them
    try:
        flags: int = func.__code__.co_flags  # type: ignore[attr-defined]
    except AttributeError:
        flags = _flags_slow(func)
    # _current_backend(), unrolled (one Python call less on every path).
    backend: _Backend | None
    if _get_running_loop() is not None:
        backend = _backends._asyncio_impl or _load_asyncio()  # pyright: ignore[reportPrivateUsage]
    elif "trio" in _modules and _trio_running():
        backend = _trio()
    else:
        backend = None
    if flags & _CO_ASYNC_OR_AGEN:
        if backend is not None:
            # asyncio/Trio -> async: a coroutine to await (or an async generator to
            # ``async for`` over) in this task.
            return func(*args, **kwargs)
        running = _running_inline  # None until inline mode is first used
        inline_call = None if running is None else running()
        if inline_call is not None and flags & _CO_ASYNC and type(func) is FunctionType:
            # Inline code -> async: the task driving it awaits the coroutine (the
            # switch back to it, inline._suspend unrolled).
            coro = func(*args, **kwargs)
            try:
                return inline_call.back(coro)
            except BaseException:
                _close_if_unstarted(coro)  # the switch itself failed: never started
                raise
        if inline_call is None and flags & CO_COROUTINE and type(func) is FunctionType:
            # sync -> a plain ``async def``: what _dispatch and _call_blocking decide
            # for it (the coroutine made on the loop's thread), without their tests.
            _machinery()
            return _block_on_coroutine(
                functools.partial(func, *args, **kwargs), None, _func_name(func)
            )
    elif backend is None:
        # sync -> sync: a direct call (``func(*args)`` builds no keyword dict).
        result = func(*args, **kwargs) if kwargs else func(*args)
        # From the first look at the result on, a Ctrl-C must not lose a coroutine.
        try:
            # One dict lookup answers for the common value (see _is_coroutine_type).
            runs = _learned(type(result))  # pyright: ignore[reportUnknownArgumentType]
            if runs is False:
                return result
            if type(result) is CoroutineType:
                _machinery()
                return _block_on_coroutine(result, None, _func_name(func))  # pyright: ignore[reportUnknownArgumentType]
        except BaseException:
            if type(result) is CoroutineType:
                _close_if_unstarted(result)  # pyright: ignore[reportUnknownArgumentType]
            raise
        # A type not seen yet, or another kind of coroutine, which is run too (see
        # _call_blocking).
        if runs is None and not _is_coroutine_type(type(result)):  # pyright: ignore[reportUnknownArgumentType]
            return result
        return _run_awaitable(result, None, _func_name(func))
    return _dispatch(func, args, kwargs, _NO_OPTIONS, backend, True)


def _call_sync(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], options: CallOptions
) -> Any:
    if isinstance(func, _wrapper_type or _load_wrapper_type()):
        # The original blocks here, not a wrapper that sees this thread's loop and
        # hands back an awaitable bound to it (a Trio one cannot run anywhere else).
        func, options = _unwrap(func, options)
    flags = _flags(func)
    is_async = bool(flags & _CO_ASYNC)
    if (is_async or flags & _CO_AGEN) and _current_backend() is not None:
        _logger.warning(
            "synchronaut: blocking call to %s stalls this thread's running event loop "
            "until it returns; await it instead to keep the loop serving",
            _func_name(func),
        )
    if not is_async and flags & _CO_ITER:
        # An async generator: a blocking iterator. A sync one: the generator itself.
        return _iterate(func, args, kwargs, options, flags, in_loop=False)
    return _call_blocking(func, args, kwargs, options, is_async)


# The callee's parameters are checked (ParamSpec) when no option is passed. PEP 612
# allows no keyword-only parameter between *args: P.args and **kwargs: P.kwargs, so a
# call with options matches the overloads after them instead: one per option, which it
# requires (a call without options must not fall through to unchecked arguments); they
# check that option's type and give the value's type, but not the callee's arguments.
@overload
def call_sync(
    func: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs
) -> T: ...
@overload
def call_sync(
    func: Callable[P, AsyncGenerator[T, Any]], /, *args: P.args, **kwargs: P.kwargs
) -> BlockingIterator[T]: ...
@overload
def call_sync(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...
@overload
def call_sync(
    func: Callable[..., Coroutine[Any, Any, T]], /, *args: Any, timeout: float | None, **kwargs: Any
) -> T: ...
@overload
def call_sync(
    func: Callable[..., Coroutine[Any, Any, T]],
    /,
    *args: Any,
    executor: Executor | None,
    **kwargs: Any,
) -> T: ...
@overload
def call_sync(
    func: Callable[..., Coroutine[Any, Any, T]], /, *args: Any, force_offload: bool, **kwargs: Any
) -> T: ...
@overload
def call_sync(
    func: Callable[..., Coroutine[Any, Any, T]],
    /,
    *args: Any,
    thread_sensitive: bool,
    **kwargs: Any,
) -> T: ...
@overload
def call_sync(
    func: Callable[..., AsyncGenerator[T, Any]], /, *args: Any, timeout: float | None, **kwargs: Any
) -> BlockingIterator[T]: ...
@overload
def call_sync(
    func: Callable[..., AsyncGenerator[T, Any]],
    /,
    *args: Any,
    executor: Executor | None,
    **kwargs: Any,
) -> BlockingIterator[T]: ...
@overload
def call_sync(
    func: Callable[..., AsyncGenerator[T, Any]], /, *args: Any, force_offload: bool, **kwargs: Any
) -> BlockingIterator[T]: ...
@overload
def call_sync(
    func: Callable[..., AsyncGenerator[T, Any]],
    /,
    *args: Any,
    thread_sensitive: bool,
    **kwargs: Any,
) -> BlockingIterator[T]: ...
@overload
def call_sync(func: Callable[..., T], /, *args: Any, timeout: float | None, **kwargs: Any) -> T: ...
@overload
def call_sync(
    func: Callable[..., T], /, *args: Any, executor: Executor | None, **kwargs: Any
) -> T: ...
@overload
def call_sync(func: Callable[..., T], /, *args: Any, force_offload: bool, **kwargs: Any) -> T: ...
@overload
def call_sync(
    func: Callable[..., T], /, *args: Any, thread_sensitive: bool, **kwargs: Any
) -> T: ...
@overload
def call_sync(
    func: Callable[..., Coroutine[Any, Any, T]], /, *args: Any, inline: bool, **kwargs: Any
) -> T: ...
@overload
def call_sync(
    func: Callable[..., AsyncGenerator[T, Any]], /, *args: Any, inline: bool, **kwargs: Any
) -> BlockingIterator[T]: ...
@overload
def call_sync(func: Callable[..., T], /, *args: Any, inline: bool, **kwargs: Any) -> T: ...
def call_sync(
    func: Callable[..., Any],
    /,
    *args: Any,
    timeout: float | None = None,
    executor: Executor | None = None,
    force_offload: bool = False,
    thread_sensitive: bool = False,
    inline: bool = False,
    **kwargs: Any,
) -> Any:
    """Call ``func(*args, **kwargs)`` and block until its value, from any thread.

    Like :func:`call_any` in plain sync code, but also where an event loop is running:
    there a coroutine cannot run on the blocked loop, so it runs on the background
    loop (or, on the background loop's own thread, on a temporary loop in another
    thread) -- it completes instead of deadlocking, and a warning is logged because
    the calling loop is stalled meanwhile. An async generator function gives a
    :class:`BlockingIterator` (``next()`` stalls a calling loop the same way), a sync
    one the generator itself. ``inline`` changes nothing here (the call blocks, as
    in sync code). Raises as :func:`call_any` does.
    """
    return _call_sync(
        func, args, kwargs, _options(timeout, executor, force_offload, thread_sensitive, inline)
    )


async def _await_later(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], options: CallOptions
) -> Any:
    # Runs when awaited, inside whichever event loop awaits it.
    return await _dispatch(func, args, kwargs, options)


def _call_async(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], options: CallOptions
) -> Any:
    if isinstance(func, _wrapper_type or _load_wrapper_type()):
        func, options = _unwrap(func, options)  # its options refused now, not when awaited
    flags = _flags(func)  # TypeError now for a non-callable
    backend = _current_backend()
    if backend is not None:
        return _dispatch(func, args, kwargs, options, backend, True)
    if not flags & _CO_ASYNC and flags & _CO_ITER:
        # An async iterator made now, in sync code, to be consumed later in a loop.
        return _iterate(func, args, kwargs, options, flags, in_loop=True)
    return _await_later(func, args, kwargs, options)


# As for call_sync: the callee's arguments are checked when no option is passed.
@overload
def call_async(
    func: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs
) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[P, AsyncGenerator[T, Any]], /, *args: P.args, **kwargs: P.kwargs
) -> AsyncIterator[T]: ...
@overload
def call_async(
    func: Callable[P, Generator[T, Any, Any]], /, *args: P.args, **kwargs: P.kwargs
) -> ThreadIterator[T]: ...
@overload
def call_async(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[..., Coroutine[Any, Any, T]], /, *args: Any, timeout: float | None, **kwargs: Any
) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[..., Coroutine[Any, Any, T]],
    /,
    *args: Any,
    executor: Executor | None,
    **kwargs: Any,
) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[..., Coroutine[Any, Any, T]], /, *args: Any, force_offload: bool, **kwargs: Any
) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[..., Coroutine[Any, Any, T]],
    /,
    *args: Any,
    thread_sensitive: bool,
    **kwargs: Any,
) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[..., AsyncGenerator[T, Any]], /, *args: Any, timeout: float | None, **kwargs: Any
) -> AsyncIterator[T]: ...
@overload
def call_async(
    func: Callable[..., AsyncGenerator[T, Any]],
    /,
    *args: Any,
    executor: Executor | None,
    **kwargs: Any,
) -> AsyncIterator[T]: ...
@overload
def call_async(
    func: Callable[..., AsyncGenerator[T, Any]], /, *args: Any, force_offload: bool, **kwargs: Any
) -> AsyncIterator[T]: ...
@overload
def call_async(
    func: Callable[..., AsyncGenerator[T, Any]],
    /,
    *args: Any,
    thread_sensitive: bool,
    **kwargs: Any,
) -> AsyncIterator[T]: ...
@overload
def call_async(
    func: Callable[..., Generator[T, Any, Any]], /, *args: Any, timeout: float | None, **kwargs: Any
) -> ThreadIterator[T]: ...
@overload
def call_async(
    func: Callable[..., Generator[T, Any, Any]],
    /,
    *args: Any,
    executor: Executor | None,
    **kwargs: Any,
) -> ThreadIterator[T]: ...
@overload
def call_async(
    func: Callable[..., Generator[T, Any, Any]], /, *args: Any, force_offload: bool, **kwargs: Any
) -> ThreadIterator[T]: ...
@overload
def call_async(
    func: Callable[..., Generator[T, Any, Any]],
    /,
    *args: Any,
    thread_sensitive: bool,
    **kwargs: Any,
) -> ThreadIterator[T]: ...
@overload
def call_async(
    func: Callable[..., T], /, *args: Any, timeout: float | None, **kwargs: Any
) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[..., T], /, *args: Any, executor: Executor | None, **kwargs: Any
) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[..., T], /, *args: Any, force_offload: bool, **kwargs: Any
) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[..., T], /, *args: Any, thread_sensitive: bool, **kwargs: Any
) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[..., Coroutine[Any, Any, T]], /, *args: Any, inline: bool, **kwargs: Any
) -> Awaitable[T]: ...
@overload
def call_async(
    func: Callable[..., AsyncGenerator[T, Any]], /, *args: Any, inline: bool, **kwargs: Any
) -> AsyncIterator[T]: ...
@overload
def call_async(
    func: Callable[..., Generator[T, Any, Any]], /, *args: Any, inline: bool, **kwargs: Any
) -> AsyncIterator[T]: ...
@overload
def call_async(
    func: Callable[..., T], /, *args: Any, inline: bool, **kwargs: Any
) -> Awaitable[T]: ...
def call_async(
    func: Callable[..., Any],
    /,
    *args: Any,
    timeout: float | None = None,
    executor: Executor | None = None,
    force_offload: bool = False,
    thread_sensitive: bool = False,
    inline: bool = False,
    **kwargs: Any,
) -> Any:
    """Return an awaitable of ``func(*args, **kwargs)``, wherever it is called.

    A ``def`` is offloaded to a worker thread, an ``async def`` is awaited in the
    awaiting task. Made in plain sync code, the returned awaitable can be awaited
    later in asyncio or Trio. A generator function gives an async iterator instead:
    an async generator as it is (per-item ``timeout`` enforced), a sync one as a
    :class:`ThreadIterator`, to consume with ``async for`` inside asyncio or Trio.
    Takes the options of :func:`call_any` (``force_offload`` changes nothing here: a
    ``def`` is always offloaded -- or, with ``inline=True``, run inline on the loop's
    thread) and raises as it does, before anything runs.
    """
    return _call_async(
        func, args, kwargs, _options(timeout, executor, force_offload, thread_sensitive, inline)
    )


def _resolve_coroutine(result: Any, func: Callable[..., Any]) -> Any:
    """A sync callable returned ``result`` on the C fast path: run it if it is a coroutine.

    The value itself otherwise: Python decides what a returned object is (native or
    other coroutine: run; anything else, futures included: the value), so that the C
    path only has to hand over what may be awaitable. Raising, the C caller closes
    ``result`` with ``_close_returned_if_unstarted``.
    """
    if type(result) is CoroutineType:
        _machinery()
        return _block_on_coroutine(result, None, _func_name(func))  # pyright: ignore[reportUnknownArgumentType]
    if _is_coroutine_type(type(result)):  # pyright: ignore[reportUnknownArgumentType]
        return _run_awaitable(result, None, _func_name(func))
    return result


def _close_returned_if_unstarted(result: Any) -> None:
    """The C fast path's cleanup when ``_resolve_coroutine`` raised.

    A native coroutine that never started is closed (``_close_if_unstarted``); any
    other object was already seen to by ``_run_awaitable``, or is not ours.
    """
    if type(result) is CoroutineType:
        _close_if_unstarted(result)  # pyright: ignore[reportUnknownArgumentType]


#: The pure-Python ``call_any``: the whole implementation, and the fallback of the C
#: fast path for every case that path does not take.
_call_any_py = call_any

#: call_any's options: its keyword-only parameters, read from the Python definition.
#: The C path is given them (a call naming one goes to Python) and makes its signature
#: text from them: the names are written once, here.
_OPTION_NAMES: tuple[str, ...] = call_any.__code__.co_varnames[
    call_any.__code__.co_argcount : call_any.__code__.co_argcount
    + call_any.__code__.co_kwonlyargcount
]
#: The same, to test a call's keywords against (``_call_any_fast``).
_OPTION_SET = frozenset(_OPTION_NAMES)

#: The C accelerator module when it is built and allowed, else None (decided in
#: ``_accelerator``: the switch, free-threaded builds, a missing build).
_speedups: Any = _accelerator._speedups
# The entry of every call the C path hands back as well as the pure one: named as
# the specification, for the binding errors it raises itself (no ``func``).
_call_any_fast.__name__ = _call_any_fast.__qualname__ = "call_any"
if _speedups is not None:
    _defaults = ", ".join(f"{name}={_call_any_py.__kwdefaults__[name]!r}" for name in _OPTION_NAMES)
    # Same signature and docstring; only the hot paths run in C, and every other call
    # (one naming any of _OPTION_NAMES included) is handed unchanged to the pure
    # entry, _call_any_fast, which binds options as the specification does -- not to
    # _call_any_py, whose keyword-only defaults cost a frame more on every such call.
    call_any = _speedups.setup(  # pyright: ignore[reportConstantRedefinition]
        _get_running_loop,
        _call_any_fast,
        _resolve_coroutine,
        _close_returned_if_unstarted,
        _OPTION_NAMES,
        _COROUTINE_TYPES,
        f"call_any(func, /, *args, {_defaults}, **kwargs)\n--\n\n{_call_any_py.__doc__ or ''}",
    )
else:
    # The hot paths run in Python (the same paths): the entry without keyword-only
    # parameters, showing the specification's name, signature (``__wrapped__``, read
    # by inspect.signature) and docstring.
    _call_any_fast.__doc__ = _call_any_py.__doc__
    _call_any_fast.__wrapped__ = _call_any_py  # pyright: ignore[reportFunctionMemberAccess]
    call_any = _call_any_fast  # pyright: ignore[reportConstantRedefinition]
