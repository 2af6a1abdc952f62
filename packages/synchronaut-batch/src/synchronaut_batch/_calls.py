"""Checking a batch's entries: every entry, every option, with its position named.

``_Checker`` checks one entry; ``_check_calls`` reads a whole batch and checks it in
the caller's thread before any call starts (``parallel_iter``), and ``_pending``
hands the entries of a ``parallel_map`` out one at a time. A checked entry is a
:data:`_Call` tuple whose caller makes the call: ``call_any``, or ``CallOptions``
carrying the entry's timeout and the batch's executor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import Any, TypeAlias, cast

from synchronaut_core import CallOptions, call_any
from synchronaut_core._validate import _check_seconds  # pyright: ignore[reportPrivateUsage]

#: One checked entry: ``caller(func, *args, **kwargs)`` makes the call (the caller is
#: ``call_any`` or a ``CallOptions``: see ``_Checker``).
_Call: TypeAlias = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], Callable[..., Any]]

#: One entry of a batch, as the user writes it: ``(func, args, kwargs, timeout)``.
#: Public, to annotate a list of calls: ``calls: list[CallSpec] = [...]``.
CallSpec: TypeAlias = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], float | None]

#: The index of a stream item that carries an error for the consumer to raise: a
#: ``KeyboardInterrupt``/``SystemExit`` from a call, which must not pass as an outcome.
_FATAL = -1


class _Lost:
    """A stream item (under index ``_FATAL``) for a call whose worker ended with it.

    An asyncio worker that got a ``CancelledError`` it cannot tell from a cancellation
    (see ``_asyncio``) -- or, in a stream, whose call ended normally with a request to
    cancel the worker pending (it swallowed one) -- ends, and queues this: the call's
    outcome (that error, or what the call returned or raised), and how to start a
    fresh worker in its place. Only the consumer may start it, from its own task, on
    the loop's thread, as it takes this item (``BatchIterator``; for a sync consumer
    ``AsyncioStream.take``, in ``_iter._ready_batches``'s task): were the worker's
    end the batch's own cancellation (``asyncio.run`` cancelling every task at its
    end), the consumer is cancelled too and never reads this; and the fresh worker
    is one of the loop's tasks at once, so any shutdown that lists them later
    cancels it too.
    """

    __slots__ = ("_respawn", "index", "outcome")

    def __init__(self, index: int, outcome: Any, respawn: Callable[[], None]) -> None:
        self.index = index
        self.outcome = outcome
        self._respawn = respawn  # on the loop's thread, in the consumer's task

    def resume(self) -> tuple[int, Any]:
        """Start the fresh worker; the call's ``(index, outcome)``."""
        self._respawn()
        return self.index, self.outcome


_SHAPE = "a 4-tuple (func, args, kwargs, timeout)"


def _check_executor(executor: object) -> Executor | None:
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            f"executor must be a concurrent.futures.Executor or None, "
            f"got {executor!r} ({type(executor).__name__})"
        )
    return executor


def _check_max_concurrency(max_concurrency: object) -> int | None:
    if max_concurrency is None:
        return None
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise TypeError(
            f"max_concurrency must be None or a positive int, "
            f"got {max_concurrency!r} ({type(max_concurrency).__name__})"
        )
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
    return max_concurrency


def _check_timeout(where: str, timeout: object) -> float | None:
    """An entry's timeout, checked by the core's one policy (TypeError/ValueError)."""
    if timeout is None:
        return None
    return _check_seconds(timeout, f"{where}: timeout")


def _iterate(name: str, items: object, shape: str) -> Iterable[Any]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(
            f"{name} must be an iterable of {shape}, got {items!r} ({type(items).__name__})"
        )
    return items  # pyright: ignore[reportUnknownVariableType]


class _Checker:
    """Checks one entry at a time; entries sharing a timeout share one caller.

    A batch of 100 000 calls with the same timeout allocates one ``CallOptions``.
    An entry's caller is what the worker calls as ``caller(func, *args, **kwargs)``:
    ``call_any`` itself for the common entry -- no timeout, no keywords, the default
    executor -- (its C fast path, and no option can be confused with a keyword since
    there is none), else the ``CallOptions`` of its timeout and the batch's executor
    (the same call, the options bound).
    """

    __slots__ = ("_executor", "_options", "_plain")

    def __init__(self, executor: Executor | None) -> None:
        self._executor = executor
        self._options: dict[tuple[type, float | None], CallOptions] = {}
        # The caller of an entry with no timeout and no keywords.
        self._plain: Callable[..., Any] = call_any if executor is None else self._bound(None)

    def _bound(self, seconds: float | None) -> CallOptions:
        option_key = (type(seconds), seconds)  # 1 and 1.0 differ in messages ("after 1s")
        bound = self._options.get(option_key)
        if bound is None:
            bound = self._options[option_key] = CallOptions(
                timeout=seconds, executor=self._executor
            )
        return bound

    def check(self, index: int, entry: object) -> _Call:
        """Entry ``index`` as a :data:`_Call`; ``TypeError``/``ValueError`` name it."""
        # Every call of a batch goes through here, twice for a list (checked in full
        # first, then again as it is read): the common entry -- exactly a tuple of a
        # callable, a tuple, an empty dict and None -- costs a few type tests and one
        # tuple; anything else takes the full tests, which also make the messages.
        if type(entry) is tuple and len(entry) == 4:  # pyright: ignore[reportUnknownArgumentType]
            func, args, kwargs, timeout = entry  # pyright: ignore[reportUnknownVariableType]
            if (
                timeout is None
                and type(args) is tuple  # pyright: ignore[reportUnknownArgumentType]
                and type(kwargs) is dict  # pyright: ignore[reportUnknownArgumentType]
                and not kwargs
                and callable(func)  # pyright: ignore[reportUnknownArgumentType]
            ):
                return (func, args, kwargs, self._plain)  # pyright: ignore[reportUnknownVariableType]
        return self._check_fully(index, cast("object", entry))  # the slow path: a call is fine

    def _check_fully(self, index: int, entry: object) -> _Call:
        # The position's text is made only for a message.
        if not isinstance(entry, tuple):
            where = f"calls[{index}]"
            raise TypeError(f"{where}: expected {_SHAPE}, got {type(entry).__name__} {entry!r}")
        items = cast("tuple[Any, ...]", entry)
        if len(items) != 4:
            where = f"calls[{index}]"
            raise TypeError(f"{where}: expected {_SHAPE}, got a {len(items)}-tuple")
        func, args, kwargs, timeout = items
        if not callable(func):
            where = f"calls[{index}]"
            raise TypeError(f"{where}: func must be callable, got {func!r} ({type(func).__name__})")
        if not isinstance(args, tuple):
            raise TypeError(
                f"calls[{index}]: args must be a tuple (write (x,) for one argument), "
                f"got {type(args).__name__} {args!r}"
            )
        if not isinstance(kwargs, dict):
            raise TypeError(
                f"calls[{index}]: kwargs must be a dict (write {{}} for none), "
                f"got {type(kwargs).__name__} {kwargs!r}"
            )
        for key in cast("dict[Any, Any]", kwargs):
            if not isinstance(key, str):
                raise TypeError(f"calls[{index}]: kwargs keys must be str, got {key!r}")
        seconds = None if timeout is None else _check_timeout(f"calls[{index}]", timeout)
        return (
            func,
            cast("tuple[Any, ...]", args),
            cast("dict[str, Any]", kwargs),
            self._bound(seconds),
        )


def _check_calls(calls: object, executor: Executor | None) -> list[_Call]:
    """Read ``calls`` in full and check every entry; ``TypeError``/``ValueError`` name it."""
    checker = _Checker(executor)
    return [
        checker.check(index, entry)
        for index, entry in enumerate(_iterate("calls", calls, _SHAPE + " entries"))
    ]


def _check_funcs(funcs: object) -> list[Callable[..., Any]]:
    """Read ``funcs`` in full; ``TypeError`` names the first entry that is not callable."""
    checked: list[Callable[..., Any]] = []
    for index, func in enumerate(_iterate("funcs", funcs, "callables")):
        if not callable(func):
            raise TypeError(
                f"funcs[{index}]: expected a callable, got {func!r} ({type(func).__name__})"
            )
        checked.append(func)
    return checked
