"""The calls of one ``parallel_map`` batch, handed out one at a time, in order.

A batch of a million calls must not cost a second copy of its input: nothing here
copies it. A list or tuple is checked in full when the batch is made -- in the
caller's thread, before any call starts, so a bad entry at position 99 999 leaves
no call running -- and then read in place. Any other iterable (a generator of a
million 4-tuples) is read lazily, one entry each time a worker is free for a call,
and each entry is checked as it is read: a bad one fails the batch with an error
naming its position, after the calls before it have started.

Only the thread that runs the batch's workers calls :meth:`_Pending.take` (the
caller's loop thread, Trio thread, or synchronaut's background loop for sync code),
one worker at a time between two ``await``s, so the reading needs no lock.

A lazily read iterator is the caller's code, run by whichever worker is free: read
in that worker's context it would see the ContextVars a call of that worker set (a
call awaited directly runs in its worker's context), and what it set itself would
reach the calls that worker runs next. So it is read in a copy of the caller's
context of its own, taken when the batch was made: it sees the caller's values and
its own changes, never a call's, and its changes reach neither the calls nor the
caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from contextvars import Context, copy_context
from typing import Any, TypeAlias

from ._calls import _SHAPE, _Call, _Checker, _iterate

#: A call handed to a worker: its position in the batch, then the checked entry
#: (``caller(func, *args, **kwargs)`` makes the call).
_Taken: TypeAlias = tuple[
    int, Callable[..., Any], tuple[Any, ...], dict[str, Any], Callable[..., Any]
]


class _Pending:
    """The calls of a batch not yet handed to a worker."""

    __slots__ = ("_checker", "_context", "_entries", "_next")

    def __init__(
        self, entries: Iterator[Any], checker: _Checker | None, context: Context | None = None
    ) -> None:
        self._entries = entries
        # None: the entries are checked ``_Call`` tuples already (``call_map``).
        self._checker = checker
        # Where the caller's lazy iterator runs (see the module's docstring); None for
        # a list or tuple, whose reading runs no user code.
        self._context = context
        self._next = 0

    @classmethod
    def of_calls(cls, calls: object, executor: Executor | None) -> _Pending:
        """A user's ``calls``; a list or tuple is checked in full now, without a copy.

        Raises ``TypeError``/``ValueError`` naming ``calls[i]`` for a bad entry of a
        list or tuple, ``TypeError`` if ``calls`` is not an iterable at all.
        """
        source = _iterate("calls", calls, _SHAPE + " entries")
        checker = _Checker(executor)
        if isinstance(source, (list, tuple)):
            for index, entry in enumerate(source):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
                checker.check(index, entry)
            return cls(iter(source), checker)
        # Called in the caller's code, in its context: this copy is the iterator's.
        context = copy_context()
        return cls(context.run(iter, source), checker, context)

    @classmethod
    def of_checked(cls, calls: Iterable[_Call]) -> _Pending:
        """Entries checked already (``call_map`` makes its own)."""
        return cls(iter(calls), None)

    def take(self) -> _Taken | None:
        """The next call, or ``None`` when there is none left.

        Raises what checking the entry raises (``TypeError``/``ValueError`` naming its
        position) and whatever the caller's iterator raises. A list's entry is checked
        again here -- the same few ``isinstance`` tests -- so that a list changed while
        its batch runs cannot slip an unchecked entry in.
        """
        context = self._context
        if context is None:
            entry = next(self._entries, _END)
        else:
            # Never entered twice: nothing here awaits, and no worker runs inside
            # another's ``take``.
            entry = context.run(next, self._entries, _END)
        if entry is _END:
            return None
        index = self._next
        self._next = index + 1
        checker = self._checker
        if checker is None:
            func, args, kwargs, options = entry
        else:
            func, args, kwargs, options = checker.check(index, entry)
        return index, func, args, kwargs, options


#: What ``next`` gives for an exhausted iterator (no entry is ever this object).
_END: Any = object()
