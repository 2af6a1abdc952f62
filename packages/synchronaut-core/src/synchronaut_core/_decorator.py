"""The ``@synchronaut`` decorator: one function, callable from sync and async code.

The decorated object is function-like rather than a closure: it carries the
original's ``__code__``, ``__defaults__``, ``__annotations__`` and ``__wrapped__``,
so ``inspect.signature`` (and FastAPI's dependency injection) sees the original
parameters, and ``inspect.iscoroutinefunction`` is true exactly when the original is
an ``async def`` -- on every supported Python. It is also a descriptor, so it works
on instance methods (``obj.method.sync(...)`` binds ``obj``), and it can wrap a
``classmethod`` or ``staticmethod``; ``obj.method`` is a two-reference bound form,
as cheap to make as a bound method. ``.sync`` and ``.async_`` are real functions
with the original's signature (``.async_`` of a function is an ``async def``), so
frameworks can take them as endpoints and dependencies. Decorated functions pickle
by reference, as functions do, and are atomic to ``copy``; an out-of-process
executor is sent a picklable stand-in for the original (``_Original``).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import Executor
from inspect import CO_ASYNC_GENERATOR, CO_GENERATOR
from types import CoroutineType, MethodType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from . import _backends
from ._backends import _current_backend, _load_asyncio, _trio
from ._call import (
    _NO_OPTIONS,
    CallOptions,
    _dispatch,
    _flags,
    _get_running_loop,
    _modules,
    _options,
    _run_awaitable,
    _speedups,
    _stack,
)
from ._detect import (
    _CO_ASYNC,
    _close_if_unstarted,
    _func_name,
    _is_coroutine_type,
    _learned,
    _trio_running,
)
from ._first_use import _load_machinery

# As in _call: what only the slower paths need (blocking on a loop, a generator's own
# thread, an executor's kind) is imported where they start (``_first_use``), so that
# decorating at import time -- what every module using @synchronaut does -- loads only
# this.

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

    __slots__ = (
        "__dict__",
        "__func__",
        "__self__",
        "__weakref__",
        "_bind_class",
        "_bound_type",
        "_direct_func",
        "_fast_kind",
        "_func",
        "_options",
        "_options_here",
    )

    _direct_func: Callable[..., Any] | None
    _fast_kind: int
    #: The class of this wrapper's bound forms; None: attribute access never binds.
    _bound_type: type[_PyDirectCall] | None
    #: Bound forms bind to the class (a classmethod) rather than the instance.
    _bind_class: bool
    #: Of a bound form only: the wrapper it was bound from, and its instance (or class).
    __func__: Any
    __self__: Any


# With the C accelerator, a decorated function's type has a C call (vectorcall): its
# two hot paths run without entering Python; the rest reaches the Python ``_call``.
_Base: type[_PyDirectCall] = _speedups.DirectCall if _speedups is not None else _PyDirectCall
_KIND_NONE, _KIND_SYNC, _KIND_ASYNC = 0, 1, 2


class _Wrapper(_Base, Generic[P, R]):  # pyright: ignore[reportGeneralTypeIssues, reportUntypedBaseClass]
    """What every kind of decorated function shares: options, binding, metadata, pickling."""

    # Its fields are the base type's (_func, _options, _options_here): subclasses add
    # none, so the C base type can deallocate bound forms itself (_speedups.adopt).
    __slots__ = ()

    _KIND = _KIND_NONE
    #: The class of this kind's bound forms (``_bound_class``, set once they exist).
    _BOUND: type[_Wrapper[Any, Any]]
    _func: Callable[..., Any]
    _options: CallOptions
    #: The options less an out-of-process executor, or None (see ``_arrived``).
    _options_here: CallOptions | None

    def _setup(self, func: Callable[..., Any], options: CallOptions, binding: int) -> None:
        self._func = func
        self._options = options
        executor = options.executor
        if executor is None:
            self._options_here = None
        else:
            _load_machinery()
            from ._job import _in_process

            self._options_here = (
                None
                if _in_process(executor)
                else _options(
                    options.timeout,
                    None,
                    options.force_offload,
                    options.thread_sensitive,
                    options.inline,
                )
            )
        # No option set: calls can take the flat path (no CallOptions dispatch).
        self._direct_func = func if options is _NO_OPTIONS else None
        self._fast_kind = self._KIND
        self._bound_type = None if binding == _BIND_NONE else type(self)._BOUND
        self._bind_class = binding == _BIND_CLASS
        for name in _COPIED:
            with contextlib.suppress(AttributeError):
                object.__setattr__(self, name, getattr(func, name))
        # The original's own attributes -- not the entries of a wrapper it may be, which
        # are bound to that wrapper (this one makes its own, see _Entry).
        attributes = getattr(func, "__dict__", {})
        self.__dict__.update({k: v for k, v in attributes.items() if k not in _ENTRY_NAMES})
        self.__wrapped__ = func

    def _get(self, instance: object, owner: type | None = None) -> Any:
        """The descriptor protocol: ``obj.method`` is a bound form of the wrapper.

        The specification of the C ``DirectCall.__get__`` (this is it without the C
        accelerator): a wrapper that binds gives a bound form holding it and the
        instance -- or, wrapping a classmethod, the class -- and nothing else, so
        access costs what building a bound method does and keeps no instance alive;
        looked up on the class, or not binding (a staticmethod, a callable object, a
        bound form), it gives itself.
        """
        if instance is None and owner is None:
            # As for a function (and what CPython's slot wrapper says for the C type).
            raise TypeError("__get__(None, None) is invalid")
        bound_type = self._bound_type
        if bound_type is None:
            return self
        if self._bind_class:
            target: object = owner if owner is not None else type(instance)
        elif instance is None:
            return self
        else:
            target = instance
        bound = object.__new__(bound_type)
        bound._bound_type = None  # a bound form is not bound again (a bound method is not)
        bound._bind_class = False
        bound._direct_func = None
        bound._fast_kind = _KIND_NONE
        # Read-only afterwards, as on a bound method (see _Bound.__setattr__).
        object.__setattr__(bound, "__func__", self)
        object.__setattr__(bound, "__self__", target)
        return bound

    def _arrived(self) -> None:
        """Unpickled in another process than the one that pickled it: calls stay there.

        A process a decorated function was sent to (a process-pool worker, say) runs
        its calls itself: an out-of-process executor among its options is not used
        there -- calling it would offload the call again, from the child, to a pool of
        the child's own (or to a forked copy of the parent's, which may never answer).
        Its other options hold. Stacked wrappers under it stay too.
        """
        wrapper: Any = self
        while isinstance(wrapper, _Wrapper):
            if isinstance(wrapper, _Bound):
                wrapper = wrapper.__func__
                continue
            here = wrapper._options_here
            if here is not None:
                # Options first: a call racing this sees old or new ones, both whole.
                wrapper._options = here
                wrapper._options_here = None
                wrapper._direct_func = wrapper._func if here is _NO_OPTIONS else None
            wrapper = wrapper._func

    def __reduce__(self) -> tuple[Any, ...]:
        # By reference, as functions pickle: module and qualified name, checked now so
        # that a wrapper that cannot be found again fails here, clearly, rather than
        # in the process that unpickles it; and this process's id (see _arrived).
        module = getattr(self, "__module__", None)
        qualname = getattr(self, "__qualname__", None)
        found: object = None
        if isinstance(module, str) and isinstance(qualname, str):
            with contextlib.suppress(Exception):
                found = _lookup(module, qualname, import_it=False)
        if found is not self:
            import pickle  # here, not at import: only pickling needs it

            raise pickle.PicklingError(
                f"cannot pickle {self!r}: it is not found as {module}.{qualname}; decorated "
                "functions pickle by reference, as functions do: define it at module "
                "level or in a class body"
            )
        return _by_name, (module, qualname, os.getpid())

    def __copy__(self) -> Any:
        return self  # atomic, as functions are

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self

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

    if TYPE_CHECKING:  # at run time: the base type's (C, or _Wrapper._get)

        @overload
        def __get__(self, instance: None, owner: type | None = None) -> SynchronautSync[P, R]: ...
        @overload
        def __get__(
            self: SynchronautSync[Concatenate[S, P2], R], instance: S, owner: type | None = None
        ) -> SynchronautSync[P2, R]: ...
        def __get__(self, instance: object, owner: type | None = None) -> Any: ...

    _KIND = _KIND_SYNC

    if TYPE_CHECKING:

        def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        func = self._direct_func
        # _current_backend() is None, unrolled (a Python call less per call); any other
        # answer is _dispatch's to find again.
        if (
            func is not None
            and _get_running_loop() is None
            and ("trio" not in _modules or not _trio_running())
        ):
            # The hot path: a direct call (``func(*args)`` builds no keyword dict).
            result = func(*args, **kwargs) if kwargs else func(*args)
            try:
                # One call answers for the common value (see _detect._is_coroutine_type).
                runs = _learned(type(result))  # pyright: ignore[reportUnknownArgumentType]
                if runs is False:
                    return result
                if type(result) is CoroutineType:
                    _load_machinery()
                    from ._blocking import _block_on_coroutine

                    return _block_on_coroutine(result, None, _func_name(func))  # pyright: ignore[reportUnknownArgumentType]
            except BaseException:
                # Ctrl-C on _block_on_coroutine's entry: see _call._call_blocking.
                if type(result) is CoroutineType:
                    _close_if_unstarted(result)  # pyright: ignore[reportUnknownArgumentType]
                raise
            # A type not seen yet, or any other coroutine: run too (see _call_blocking).
            if runs is None and not _is_coroutine_type(type(result)):  # pyright: ignore[reportUnknownArgumentType]
                return result
            return _run_awaitable(result, None, _func_name(func))
        return _dispatch(self._func, args, kwargs, self._options)

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

    if TYPE_CHECKING:  # at run time: the base type's (C, or _Wrapper._get)

        @overload
        def __get__(self, instance: None, owner: type | None = None) -> SynchronautAsync[P, R]: ...
        @overload
        def __get__(
            self: SynchronautAsync[Concatenate[S, P2], R], instance: S, owner: type | None = None
        ) -> SynchronautAsync[P2, R]: ...
        def __get__(self, instance: object, owner: type | None = None) -> Any: ...

    _KIND = _KIND_ASYNC

    if TYPE_CHECKING:

        def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]: ...

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        func = self._direct_func
        if func is not None:
            # _current_backend() is not None, unrolled (its loading of the backend kept).
            if _get_running_loop() is not None:
                if _backends._asyncio_impl is None:  # pyright: ignore[reportPrivateUsage]
                    _load_asyncio()
                return func(*args, **kwargs)  # asyncio -> async: the coroutine itself
            if "trio" in _modules and _trio_running():
                _trio()
                return func(*args, **kwargs)  # Trio -> async: the coroutine itself
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

    if TYPE_CHECKING:  # at run time: the base type's (C, or _Wrapper._get)

        @overload
        def __get__(
            self, instance: None, owner: type | None = None
        ) -> SynchronautAsyncGen[P, T]: ...
        @overload
        def __get__(
            self: SynchronautAsyncGen[Concatenate[S, P2], T], instance: S, owner: type | None = None
        ) -> SynchronautAsyncGen[P2, T]: ...
        def __get__(self, instance: object, owner: type | None = None) -> Any: ...

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
    inside asyncio or Trio it gives a :class:`ThreadGenerator`: ``async for`` runs the
    generator on one thread of its own for its whole life, and ``next()``/``send()``/
    ``throw()``/``close()`` drive it directly in whichever thread calls them, as
    frameworks do with generator dependencies (``.async_(...)``: always the async
    iterator).
    """

    if TYPE_CHECKING:  # at run time: the base type's (C, or _Wrapper._get)

        @overload
        def __get__(self, instance: None, owner: type | None = None) -> SynchronautGen[P, T]: ...
        @overload
        def __get__(
            self: SynchronautGen[Concatenate[S, P2], T], instance: S, owner: type | None = None
        ) -> SynchronautGen[P2, T]: ...
        def __get__(self, instance: object, owner: type | None = None) -> Any: ...

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        func = self._func
        gen = func(*args, **kwargs)  # runs none of its code: fine in any thread
        if _current_backend() is None:
            return gen  # plain sync code: the generator is the iterator it needs
        # Inside a loop: an object both ways. FastAPI, say, calls a generator
        # dependency here, on its loop, then drives it with next() in its threadpool.
        options = self._options
        if options.inline:
            # Inline mode was loaded when these options were made (_call._load_inline).
            from . import _inline

            return _inline._inline_iterator(gen, options.timeout, _func_name(func))
        _load_machinery()
        from ._async_iter import _loop_generator

        return _loop_generator(
            gen,
            options.timeout,
            options.thread_sensitive,
            options.executor is not None,
            _func_name(func),
        )

    def sync(self, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        """The generator itself, in any context."""
        return self._call_sync(args, kwargs)

    def async_(self, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        """An async iterator running the generator on a thread of its own."""
        return self._call_async(args, kwargs)


#: Keys of the entries (see _Entry) in a wrapper's ``__dict__``.
_ENTRY_NAMES = ("sync", "async_", "_boundsync", "_boundasync_")


class _Bound(_Wrapper[Any, Any]):
    # A decorated function bound to an instance (or, for a classmethod, to a class):
    # what ``obj.method`` gives. It holds ``__func__`` (the wrapper) and ``__self__``
    # and nothing else -- made as cheaply as a bound method; what it shows is read
    # from the wrapper when asked. Calling it calls the wrapper with ``__self__``
    # first; ``.sync``/``.async_`` bind the same way. Each kind has its subclass
    # (``_bound_class``), so ``obj.method`` is an instance of the decorator's kind.
    # (No docstring: ``__doc__`` is the original's, below.)

    __slots__ = ()

    if _speedups is None:
        # The C type makes both read-only members, as a bound method's: the same here.
        def __setattr__(self, name: str, value: Any) -> None:
            if name in ("__func__", "__self__"):
                raise AttributeError("readonly attribute")
            object.__setattr__(self, name, value)

        def __delattr__(self, name: str) -> None:
            if name in ("__func__", "__self__"):
                raise AttributeError("readonly attribute")
            object.__delattr__(self, name)

    @property
    def _func(self) -> Callable[..., Any]:  # pyright: ignore[reportIncompatibleVariableOverride, reportIncompatibleMethodOverride]
        """The original bound to ``__self__`` (what ``call_any`` of this form runs)."""
        inner: Any = self.__func__._func
        if isinstance(inner, _Wrapper):
            return _bind(inner, self.__self__)  # stacked decorators: the inner one, bound
        return MethodType(inner, self.__self__)

    @property
    def _options(self) -> CallOptions:  # pyright: ignore[reportIncompatibleVariableOverride]
        return self.__func__._options

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        # A bound method: inspect.signature leaves out self/cls.
        return self._func

    @property
    def __doc__(self) -> str | None:  # pyright: ignore[reportIncompatibleVariableOverride]
        return self.__func__.__doc__

    @property
    def __annotations__(self) -> dict[str, Any]:  # pyright: ignore[reportIncompatibleVariableOverride]
        return self.__func__.__annotations__

    def __getattr__(self, name: str) -> Any:
        # Everything else a function shows (__name__, __code__, ...) and the attributes
        # set on it: the wrapper's, as a bound method shows its function's.
        if name in ("__func__", "__self__"):
            raise AttributeError(name)
        return getattr(self.__func__, name)

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        return self.__func__(self.__self__, *args, **kwargs)

    def __eq__(self, other: object) -> bool:
        # As bound methods compare: the same function bound to the same object.
        if not isinstance(other, _Bound):
            return NotImplemented
        return self.__func__ is other.__func__ and self.__self__ is other.__self__

    def __hash__(self) -> int:
        return hash((self.__func__, id(self.__self__)))

    def __reduce__(self) -> tuple[Any, ...]:
        # As a bound method pickles: its wrapper (by reference) and its object.
        return _bind, (self.__func__, self.__self__)

    def __copy__(self) -> Any:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        # As copy.deepcopy treats a bound method: bound to a deep copy of its object.
        import copy  # here, not at import: only deep copies need it

        return _bind(self.__func__, copy.deepcopy(self.__self__, memo))

    def _arrived(self) -> None:
        self.__func__._arrived()

    def __repr__(self) -> str:
        name = getattr(self.__func__, "__qualname__", None) or _func_name(self.__func__)
        return f"<synchronaut bound {name} of {self.__self__!r} {self._options!r}>"


def _bound_class(kind: type[_Wrapper[Any, Any]]) -> type[_Wrapper[Any, Any]]:
    """The class of ``kind``'s bound forms (a subclass of both ``_Bound`` and ``kind``)."""
    namespace: dict[str, Any] = {
        "__slots__": (),
        "__qualname__": f"{kind.__qualname__}.bound",
        # Properties, not the strings a class body would put here: a bound form shows
        # the original's module and docstring.
        "__module__": property(lambda self: self.__func__.__module__),
        "__doc__": _Bound.__dict__["__doc__"],
    }
    bound = cast(
        "type[_Wrapper[Any, Any]]", type(f"{kind.__name__}Bound", (_Bound, kind), namespace)
    )
    if _speedups is not None:
        # Made and dropped on every obj.method: freed by the C base type's own code,
        # not Python's generic deallocator of class instances (as costly again). A
        # layout it refuses (TypeError) keeps the generic one: only speed differs (a
        # test checks that this Python's layout is taken).
        with contextlib.suppress(TypeError):
            _speedups.adopt(bound)
    kind._BOUND = bound
    return bound


class _Entry:
    """``.sync``/``.async_`` of a decorated function: a function of its own per wrapper.

    A method would give every wrapper the same bound method of the class's function:
    ``inspect.signature`` would say ``(*args, **kwargs)`` and the ``.async_`` of a
    ``def`` would not be a coroutine function, so frameworks (FastAPI's ``Depends``, an
    endpoint) would call it wrongly. Each wrapper gets, on first access, a function
    with the original's signature (``__wrapped__``), name and docstring -- an
    ``async def`` for the ``.async_`` of a ``def`` or ``async def`` -- that calls the
    class's implementation; it is kept in the wrapper's ``__dict__`` and pickles by
    reference (``module.name.sync``). A bound form's is a bound method (of a function
    its wrapper keeps for the purpose, taking the bound form first): as cheap as a
    bound method, with the bound original's signature, pickled as
    ``getattr(bound form, "sync")``, and keeping nothing alive.
    """

    __slots__ = ("_coroutine", "_impl", "_name")

    def __init__(self, impl: Callable[..., Any], name: str, coroutine: bool) -> None:
        self._impl = impl
        self._name = name
        self._coroutine = coroutine

    def __get__(self, wrapper: Any, owner: type | None = None) -> Any:
        if wrapper is None:
            return self._impl  # on the class: the implementation, with its docstring
        if isinstance(wrapper, _Bound):
            unbound: Any = wrapper.__func__
            key = f"_bound{self._name}"
            entry = unbound.__dict__.get(key)
            if entry is None:
                # Its __wrapped__ is the unbound original: a bound method of it leaves
                # out self/cls, as the bound original's signature does.
                entry = self._make(unbound, self._impl, self._name)
                entry = unbound.__dict__.setdefault(key, entry)
            return MethodType(entry, wrapper)
        # setdefault: two threads racing here both get the one that was kept.
        name = getattr(wrapper, "__name__", self._name)
        entry = self._make(wrapper, MethodType(self._impl, wrapper), name)
        return wrapper.__dict__.setdefault(self._name, entry)

    def _make(self, wrapper: Any, call: Callable[..., Any], name: str) -> Callable[..., Any]:
        entry = _async_entry(call) if self._coroutine else _sync_entry(call)
        entry.__wrapped__ = wrapper._func  # pyright: ignore[reportFunctionMemberAccess]
        entry.__module__ = getattr(wrapper, "__module__", entry.__module__)
        entry.__name__ = name
        entry.__qualname__ = f"{getattr(wrapper, '__qualname__', name)}.{self._name}"
        entry.__doc__ = getattr(wrapper, "__doc__", None)
        return entry


def _sync_entry(call: Callable[..., Any]) -> Callable[..., Any]:
    def entry(*args: Any, **kwargs: Any) -> Any:
        return call(*args, **kwargs)

    return entry


def _async_entry(call: Callable[..., Any]) -> Callable[..., Any]:
    async def entry(*args: Any, **kwargs: Any) -> Any:
        # Runs when awaited, in the awaiting task: the call is placed from there.
        return await call(*args, **kwargs)

    return entry


_BoundSync = _bound_class(SynchronautSync)
_BoundAsync = _bound_class(SynchronautAsync)
_bound_class(SynchronautAsyncGen)
_bound_class(SynchronautGen)
for _kind, _coroutine in (
    (SynchronautSync, True),
    (SynchronautAsync, True),
    (SynchronautAsyncGen, False),  # .async_ gives an async iterator, not an awaitable
    (SynchronautGen, False),
):
    _kind.sync = _Entry(_kind.__dict__["sync"], "sync", False)  # type: ignore[method-assign]
    _kind.async_ = _Entry(_kind.__dict__["async_"], "async_", _coroutine)  # type: ignore[method-assign]

if _speedups is None:
    # Without the C base type, binding and calls go through Python (the same logic).
    _Wrapper.__get__ = _Wrapper._get  # type: ignore[attr-defined]
    SynchronautSync.__call__ = SynchronautSync._call  # type: ignore[method-assign]
    SynchronautAsync.__call__ = SynchronautAsync._call  # type: ignore[method-assign]
    _BoundSync.__call__ = _Bound._call  # type: ignore[attr-defined]
    _BoundAsync.__call__ = _Bound._call  # type: ignore[attr-defined]


def _is_wrapper(obj: object) -> bool:
    """Is ``obj`` a decorated function (or a bound form of one)?"""
    return isinstance(obj, _Wrapper)


def _bind(wrapper: Any, target: object) -> Any:
    """``wrapper`` bound to ``target`` as attribute access on ``target`` binds it."""
    if wrapper._bind_class:
        return wrapper.__get__(None, target)
    return wrapper.__get__(target, type(target))


def _lookup(module: str, qualname: str, import_it: bool = True) -> object:
    """What ``module.qualname`` names; in a class, the attribute as stored (not bound)."""
    found: Any = sys.modules.get(module)
    if found is None:
        if not import_it:
            raise LookupError(module)
        found = importlib.import_module(module)
    *path, name = qualname.split(".")
    for part in path:
        found = getattr(found, part)
    if isinstance(found, type):
        for klass in found.__mro__:
            if name in vars(klass):
                return vars(klass)[name]
    return getattr(found, name)


def _by_name(module: str, qualname: str, pid: int) -> Any:
    """Unpickle a decorated function: the one at ``module.qualname`` (see __reduce__)."""
    wrapper: Any = _lookup(module, qualname)
    if not _is_wrapper(wrapper):
        import pickle  # here, not at import: only unpickling needs it

        raise pickle.UnpicklingError(
            f"{module}.{qualname} is not a decorated function here ({wrapper!r})"
        )
    if pid != os.getpid():
        wrapper._arrived()
    return wrapper


class _Original:
    """A decorated function's original, as an out-of-process executor is sent it.

    The original cannot be pickled itself: pickle looks functions up by name, and the
    name holds the wrapper. This pickles as a reference to the wrapper (and the
    object a method is bound to), and calling it -- in the child -- calls the
    wrapper's original (under any stacked decorators) directly: never the wrapper,
    which would place the call again, from the child.
    """

    __slots__ = ("_target", "_wrapper")

    def __init__(self, wrapper: _Wrapper[Any, Any], target: object) -> None:
        self._wrapper = wrapper
        self._target = target  # None, or the instance (or class) of a method

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        func: Any = self._wrapper
        while isinstance(func, _Wrapper):
            func = func._func
        if self._target is None:
            return func(*args, **kwargs)
        return func(self._target, *args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return _Original, (self._wrapper, self._target)

    def __repr__(self) -> str:
        return f"<the original of {self._wrapper!r}>"


def _portable(func: Callable[..., Any]) -> Callable[..., Any]:
    """What an out-of-process executor is sent to run ``func``.

    For a decorated function's original (or a method of it, or a wrapper): an
    ``_Original``, which pickles; any other callable as it is. Called by
    ``_job._submit`` for process pools and Dask's executor.
    """
    target: object = None
    original: Any = func
    if isinstance(original, _Bound) or type(original) is MethodType:
        original, target = original.__func__, original.__self__
    module = getattr(original, "__module__", None)
    qualname = getattr(original, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return func
    try:
        found = _lookup(module, qualname, import_it=False)
    except Exception:
        return func  # not found by name: pickle says what is wrong, if anything
    wrapper: Any = found
    while isinstance(wrapper, _Wrapper) and not isinstance(wrapper, _Bound):
        if wrapper is original or wrapper._func is original:
            return _Original(cast("_Wrapper[Any, Any]", found), target)
        wrapper = wrapper._func
    return func


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
    inline: bool = False,
) -> _Decorator: ...
def synchronaut(
    func: Any = None,
    /,
    *,
    timeout: float | None = None,
    executor: Executor | None = None,
    force_offload: bool = False,
    thread_sensitive: bool = False,
    inline: bool = False,
) -> Any:
    """Make a function callable from sync and async code alike.

    Use as ``@synchronaut`` or ``@synchronaut(timeout=..., executor=...,
    force_offload=..., thread_sensitive=..., inline=...)`` on a ``def`` or ``async
    def`` (also on methods, and above ``@classmethod``/``@staticmethod``). A call
    behaves as ``call_any(func, ..., <options>)``; ``.sync(...)`` always blocks for the
    value and ``.async_(...)`` always returns an awaitable. ``thread_sensitive=True``
    keeps every call of a sync function on one thread (see ``call_any``), for
    thread-bound DB connections. ``inline=True`` runs a ``def`` called inside asyncio
    or Trio on the loop's own thread, in a greenlet, its bridge calls awaited by the
    calling task (see ``call_any``; needs the ``inline`` extra). ``.sync`` and
    ``.async_`` carry the original's signature, and ``.async_`` of a ``def`` or
    ``async def`` is a coroutine function (frameworks can take it as an endpoint or a
    dependency). The result pickles by reference and is atomic to ``copy``, like a
    function, so process pools can run it. Raises ``ValueError``/``TypeError`` at
    decoration time for bad options (``ImportError`` for ``inline=True`` without
    greenlet), ``TypeError``
    for a non-callable.
    """
    options = _options(timeout, executor, force_offload, thread_sensitive, inline)
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
    if _is_wrapper(func):
        inner: Any = func
        # The options of both levels must go together (a thread_sensitive one over an
        # executor one, say): refused now, as bad options are, not at every call.
        _stack(inner._options, options, inner)
        if binding == _BIND_INSTANCE:  # stacked decorators bind as the inner one does
            if inner._bound_type is None:
                binding = _BIND_NONE
            elif inner._bind_class:
                binding = _BIND_CLASS
    elif not inspect.isfunction(func):
        # Bound methods, partials and callable objects do not bind as functions do.
        binding = _BIND_NONE
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
