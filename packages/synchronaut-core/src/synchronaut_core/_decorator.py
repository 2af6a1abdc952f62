"""The ``@synchronaut`` decorator: one function, callable from sync and async code.

The decorated object is function-like rather than a closure: it carries the
original's ``__code__``, ``__defaults__``, ``__annotations__`` and ``__wrapped__``,
so ``inspect.signature`` (and FastAPI's dependency injection) sees the original
parameters, and ``inspect.iscoroutinefunction`` is true exactly when the original is
an ``async def`` -- on every supported Python. It is also a descriptor, so it works
on instance methods (``obj.method.sync(...)`` binds ``obj``), and it can wrap a
``classmethod`` or ``staticmethod``.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import Executor
from inspect import CO_ASYNC_GENERATOR, CO_GENERATOR
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from ._backends import _current_backend
from ._blocking import _block_on_coroutine, _close_if_unstarted
from ._call import _NO_OPTIONS, CallOptions, _dispatch, _flags, _options, _speedups
from ._detect import _CO_ASYNC, _func_name

__all__ = [
    "SynchronautAsync",
    "SynchronautAsyncGen",
    "SynchronautGen",
    "SynchronautSync",
    "synchronaut",
]

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
S = TypeVar("S")
T = TypeVar("T")


# Attributes copied from the original so that the wrapper is "function-like" to
# ``inspect`` (see the module docstring).
_COPIED = (
    "__module__",
    "__name__",
    "__qualname__",
    "__doc__",
    "__code__",
    "__defaults__",
    "__kwdefaults__",
    "__annotations__",
    "__globals__",
)

_BIND_INSTANCE, _BIND_CLASS, _BIND_NONE = 0, 1, 2


class _PyDirectCall:
    """The pure-Python stand-in for ``_speedups.DirectCall`` (no C accelerator)."""

    __slots__ = ("__dict__", "__weakref__", "_direct_func", "_fast_kind")

    _direct_func: Callable[..., Any] | None
    _fast_kind: int


# With the C accelerator, a decorated function's type has a C call (vectorcall): its
# two hot paths run without entering Python; the rest reaches the Python ``_call``.
_Base: type[_PyDirectCall] = _speedups.DirectCall if _speedups is not None else _PyDirectCall
_KIND_NONE, _KIND_SYNC, _KIND_ASYNC = 0, 1, 2


class _Wrapper(_Base, Generic[P, R]):  # pyright: ignore[reportGeneralTypeIssues, reportUntypedBaseClass]
    """What every kind of decorated function shares: options, binding, metadata."""

    __slots__ = ("_binding", "_func", "_options")

    _KIND = _KIND_NONE
    _func: Callable[..., Any]
    _options: CallOptions
    _binding: int

    def _setup(self, func: Callable[..., Any], options: CallOptions, binding: int) -> None:
        self._func = func
        self._options = options
        self._binding = binding
        # No option set: calls can take the flat path (no CallOptions dispatch).
        self._direct_func = func if options is _NO_OPTIONS else None
        self._fast_kind = self._KIND
        for name in _COPIED:
            with contextlib.suppress(AttributeError):
                object.__setattr__(self, name, getattr(func, name))
        self.__dict__.update(getattr(func, "__dict__", {}))
        self.__wrapped__ = func

    def _bound(self, target: object) -> Any:
        # ``target`` is the instance (or, for a classmethod, the class): bind the
        # original to it, so self/cls is passed and inspect.signature omits it.
        kind = type(self)
        bound = kind.__new__(kind)
        bound._setup(self._func.__get__(target, type(target)), self._options, _BIND_NONE)  # type: ignore[attr-defined]
        return bound

    def _get(self, instance: object, owner: type | None) -> Any:
        # Descriptor protocol: makes the decorator work on methods.
        if self._binding == _BIND_CLASS:
            return self._bound(owner if owner is not None else type(instance))  # pyright: ignore[reportUnknownArgumentType]
        if self._binding == _BIND_NONE or instance is None:
            return self
        return self._bound(instance)

    def _call_sync(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self._options.sync(self._func, *args, **kwargs)

    def _call_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self._options.async_(self._func, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<synchronaut {_func_name(self._func)} {self._options!r}>"


class SynchronautSync(_Wrapper[P, R]):
    """A decorated ``def``: a direct call in sync code, offloaded in async code.

    Called from plain sync code it returns the value (in the executor and waited for,
    when ``timeout`` or ``force_offload`` is set); inside asyncio or Trio it returns an
    awaitable that runs the function in a worker thread.
    """

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> SynchronautSync[P, R]: ...
    @overload
    def __get__(
        self: SynchronautSync[Concatenate[S, P2], R], instance: S, owner: type | None = None
    ) -> SynchronautSync[P2, R]: ...
    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self._get(instance, owner)

    _KIND = _KIND_SYNC

    if TYPE_CHECKING:

        def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        func = self._direct_func
        if func is not None and _current_backend() is None:
            result = func(*args, **kwargs)  # the hot path: a direct call
            if type(result) is CoroutineType:
                try:
                    return _block_on_coroutine(result, None, _func_name(func))  # pyright: ignore[reportUnknownArgumentType]
                except BaseException:
                    # Ctrl-C on _block_on_coroutine's entry: see _call._call_blocking.
                    _close_if_unstarted(result)  # pyright: ignore[reportUnknownArgumentType]
                    raise
            return result
        return self._options(self._func, *args, **kwargs)

    def sync(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call and block until the value, in any context (see ``call_sync``).

        Inside a running event loop the loop is stalled meanwhile (a warning is
        logged), but it never deadlocks. Honours the decorator's ``timeout``.
        """
        return self._call_sync(args, kwargs)

    def async_(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        """Return an awaitable of the call, in any context; offloaded to a worker thread."""
        return self._call_async(args, kwargs)


class SynchronautAsync(_Wrapper[P, R]):
    """A decorated ``async def``: awaitable in async code, a blocking call in sync code.

    Inside asyncio or Trio, calling it returns a coroutine to await (with the
    decorator's ``timeout`` enforced); in plain sync code it runs on an event loop
    and returns the value.
    """

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> SynchronautAsync[P, R]: ...
    @overload
    def __get__(
        self: SynchronautAsync[Concatenate[S, P2], R], instance: S, owner: type | None = None
    ) -> SynchronautAsync[P2, R]: ...
    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self._get(instance, owner)

    _KIND = _KIND_ASYNC

    if TYPE_CHECKING:

        def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]: ...

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        func = self._direct_func
        if func is not None and _current_backend() is not None:
            return func(*args, **kwargs)  # asyncio/Trio -> async: the coroutine itself
        return _dispatch(self._func, args, kwargs, self._options)

    def sync(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run to completion and return the value, in any context (see ``call_sync``).

        Inside a running event loop the loop is stalled meanwhile (a warning is
        logged), but it never deadlocks. Honours the decorator's ``timeout``.
        """
        return self._call_sync(args, kwargs)

    def async_(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        """Return an awaitable of the call, in any context."""
        return self._call_async(args, kwargs)


class SynchronautAsyncGen(_Wrapper[P, T]):
    """A decorated ``async def ... yield``: an iterator of the caller's colour.

    In plain sync code calling it (or ``.sync(...)``) gives a plain iterator whose
    every ``next()`` runs one step on an event loop; inside asyncio or Trio it gives
    the async generator (``.async_(...)``: always an async iterator).
    """

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> SynchronautAsyncGen[P, T]: ...
    @overload
    def __get__(
        self: SynchronautAsyncGen[Concatenate[S, P2], T], instance: S, owner: type | None = None
    ) -> SynchronautAsyncGen[P2, T]: ...
    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self._get(instance, owner)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        return _dispatch(self._func, args, kwargs, self._options)

    def sync(self, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        """A plain iterator over the async generator, in any context."""
        return self._call_sync(args, kwargs)

    def async_(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        """The async generator itself (to iterate with ``async for``)."""
        return self._call_async(args, kwargs)


class SynchronautGen(_Wrapper[P, T]):
    """A decorated ``def ... yield``: an iterator of the caller's colour.

    In plain sync code calling it (or ``.sync(...)``) gives the generator itself;
    inside asyncio or Trio it gives an async iterator that runs the generator on one
    thread of its own for its whole life (``.async_(...)``: always that).
    """

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> SynchronautGen[P, T]: ...
    @overload
    def __get__(
        self: SynchronautGen[Concatenate[S, P2], T], instance: S, owner: type | None = None
    ) -> SynchronautGen[P2, T]: ...
    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self._get(instance, owner)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        return _dispatch(self._func, args, kwargs, self._options)

    def sync(self, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        """The generator itself, in any context."""
        return self._call_sync(args, kwargs)

    def async_(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        """An async iterator running the generator on a thread of its own."""
        return self._call_async(args, kwargs)


if _speedups is None:
    # Without the C base type, calls go through the Python ``_call`` (the same logic).
    SynchronautSync.__call__ = SynchronautSync._call  # type: ignore[method-assign]
    SynchronautAsync.__call__ = SynchronautAsync._call  # type: ignore[method-assign]


@overload
def synchronaut(  # pyright: ignore[reportOverlappingOverload]
    func: Callable[P, Coroutine[Any, Any, R]], /
) -> SynchronautAsync[P, R]: ...
@overload
def synchronaut(func: Callable[P, AsyncIterator[T]], /) -> SynchronautAsyncGen[P, T]: ...
@overload
def synchronaut(  # pyright: ignore[reportOverlappingOverload]
    func: Callable[P, Iterator[T]], /
) -> SynchronautGen[P, T]: ...
@overload
def synchronaut(func: Callable[P, R], /) -> SynchronautSync[P, R]: ...
@overload
def synchronaut(
    *,
    timeout: float | None = None,
    executor: Executor | None = None,
    force_offload: bool = False,
    thread_sensitive: bool = False,
) -> _Decorator: ...
def synchronaut(
    func: Any = None,
    /,
    *,
    timeout: float | None = None,
    executor: Executor | None = None,
    force_offload: bool = False,
    thread_sensitive: bool = False,
) -> Any:
    """Make a function callable from sync and async code alike.

    Use as ``@synchronaut`` or ``@synchronaut(timeout=..., executor=...,
    force_offload=..., thread_sensitive=...)`` on a ``def`` or ``async def`` (also on
    methods, and above ``@classmethod``/``@staticmethod``). A call behaves as
    ``call_any(func, ..., <options>)``; ``.sync(...)`` always blocks for the value and
    ``.async_(...)`` always returns an awaitable. ``thread_sensitive=True`` keeps every
    call of a sync function on one thread (see ``call_any``), for thread-bound DB
    connections. Raises ``ValueError``/``TypeError`` at decoration time for bad
    options, ``TypeError`` for a non-callable.
    """
    options = _options(timeout, executor, force_offload, thread_sensitive)
    if func is None:
        return _Decorator(options)
    return _wrap(func, options)


class _Decorator:
    """``@synchronaut(...)`` with options: applies them to the decorated function."""

    __slots__ = ("_options",)

    def __init__(self, options: CallOptions) -> None:
        self._options = options

    @overload
    def __call__(  # pyright: ignore[reportOverlappingOverload]
        self, func: Callable[P, Coroutine[Any, Any, R]], /
    ) -> SynchronautAsync[P, R]: ...
    @overload
    def __call__(self, func: Callable[P, AsyncIterator[T]], /) -> SynchronautAsyncGen[P, T]: ...
    @overload
    def __call__(  # pyright: ignore[reportOverlappingOverload]
        self, func: Callable[P, Iterator[T]], /
    ) -> SynchronautGen[P, T]: ...
    @overload
    def __call__(self, func: Callable[P, R], /) -> SynchronautSync[P, R]: ...
    def __call__(self, func: Any, /) -> Any:
        return _wrap(func, self._options)


def _wrap(func: Any, options: CallOptions) -> Any:
    binding = _BIND_INSTANCE
    if isinstance(func, (classmethod, staticmethod)):
        binding = _BIND_CLASS if isinstance(func, classmethod) else _BIND_NONE
        func = cast(Any, func.__func__)  # pyright: ignore[reportUnknownMemberType]
    if not callable(func):
        raise TypeError(f"@synchronaut needs a function, got {func!r} ({type(func).__name__})")
    if not (inspect.isfunction(func) or inspect.ismethod(func)):
        binding = _BIND_NONE  # partials and callable objects do not bind like functions
    flags = _flags(func)
    kind: type[_Wrapper[Any, Any]]
    if flags & _CO_ASYNC:
        kind = SynchronautAsync
    elif flags & CO_ASYNC_GENERATOR:
        kind = SynchronautAsyncGen
    elif flags & CO_GENERATOR:
        kind = SynchronautGen
    else:
        kind = SynchronautSync
    wrapper = cast("_Wrapper[Any, Any]", kind.__new__(kind))
    wrapper._setup(func, options, binding)
    return wrapper
