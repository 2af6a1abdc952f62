"""ContextVar write-back: make a callee's ContextVar changes visible to its caller.

A callee that runs in another thread or task runs in a *copy* of the caller's
context (``contextvars.copy_context()``), so its ``var.set()`` calls land in that
copy. Once the call returns, the caller applies the copy's values to its own context,
so the call behaves like a direct call.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Context, ContextVar, copy_context
from typing import Any

_MISSING = object()

#: synchronaut's own ContextVars, set in a callee's context copy for the callee's
#: sake; never copied back to the caller.
_INTERNAL: set[ContextVar[Any]] = set()

#: ``gc.get_referents`` where it shows a context's mapping (see _mapping_of), None
#: where it does not; ``_UNCHOSEN`` until the first test (no work at import).
_UNCHOSEN: Any = object()
_referents: Any = _UNCHOSEN


def _choose_referents() -> Callable[..., list[Any]] | None:
    """``gc.get_referents`` if it shows a context's shared mapping here, else None.

    On CPython a context's referents are its mapping (a HAMT: immutable, shared by a
    copy until a variable is set in either) last, after the context it was entered
    from, if any. Checked once, by its behaviour: on an interpreter where it differs
    every test goes value by value (still exact, slower).
    """
    global _referents
    from gc import get_referents  # a built-in module: nothing is loaded

    chosen: Callable[..., list[Any]] | None = None
    first = copy_context()
    copy = first.copy()
    changed = first.copy()
    changed.run(_PROBE.set, None)
    mine, its, other = get_referents(first), get_referents(copy), get_referents(changed)
    if mine and its and other and mine[-1] is its[-1] and other[-1] is not mine[-1]:
        chosen = get_referents
    _referents = chosen
    return chosen


#: Set in a throw-away copy by _choose_referents, never anywhere else.
_PROBE: ContextVar[None] = ContextVar("synchronaut_context_probe")


def _mapping_of(ctx: Context) -> object | None:
    """What ``ctx`` shares with every copy in which nothing was set since (by ``is``).

    None where the interpreter does not show it. Two contexts with the same mapping
    bind the same variables to the same objects; different mappings may still bind
    the same ones (a variable set, then reset).
    """
    referents = _referents if _referents is not _UNCHOSEN else _choose_referents()
    return None if referents is None else referents(ctx)[-1]


def _same_bindings(ctx: Context, other: Context, mapping: object | None = None) -> bool:
    """Does ``ctx`` bind the same variables as ``other``, each to the same object?

    By identity, never ``==``: a value set to an equal object (``True`` for ``1``, a
    fresh ``[]`` for an empty list, an object equal to anything) is a change, as a
    direct call shows it to its caller. ``mapping`` is ``_mapping_of(other)`` when
    the caller has it. One identity test when nothing was set (shared mapping);
    otherwise variable by variable, in Python.
    """
    mine = _mapping_of(ctx)
    if mine is not None and mine is (_mapping_of(other) if mapping is None else mapping):
        return True
    if len(ctx) != len(other):
        return False
    return all(other.get(var, _MISSING) is value for var, value in ctx.items())


def _write_back(ctx: Context, baseline: Context | None = None) -> None:
    """Set, in the current context, every ContextVar whose value differs in ``ctx``.

    Runs in the caller (its thread and, in async code, its task) after the callee
    finished with ``ctx``. ``baseline`` is ``ctx`` as it was when the callee started
    (default: the caller's current context, which a blocked caller cannot have
    changed). Differs means by identity (see _same_bindings): a callee that set a
    variable to an object ``==`` to the one it had leaves the caller its object, as
    a direct call does. Contexts are immutable mappings that share structure, so the
    first test is one identity comparison when the callee set nothing (the common
    case); after any ``set`` (even one reset since) the values are compared one by
    one, by identity -- never by ``==``, which user objects may make lie or raise.
    """
    mine = _mapping_of(ctx)
    if mine is not None and mine is _mapping_of(copy_context() if baseline is None else baseline):
        return
    for var, value in ctx.items():
        if var.get(_MISSING) is not value and var not in _INTERNAL:
            var.set(value)


class _InCopiedContext:
    """Await a coroutine in a copy of the awaiting task's context, step by step.

    Each step (``send``/``throw``/``close``) of ``coro`` runs inside ``ctx``, so the
    callee's ``var.set()`` calls land in the copy while it still runs in the
    awaiting task (same task, same cancellation). The caller decides afterwards
    whether to apply them (``_write_back``): it does when the callee finished, and
    not when the call timed out.
    """

    __slots__ = ("coro", "ctx")

    def __init__(self, coro: Any) -> None:
        self.coro = coro
        self.ctx = copy_context()

    def __await__(self) -> _InCopiedContext:
        return self

    def __iter__(self) -> _InCopiedContext:
        return self

    def __next__(self) -> Any:
        return self.ctx.run(self.coro.send, None)

    def send(self, value: Any) -> Any:
        # The argument is dropped from this frame whatever happens: raising, the
        # frame is in the exception's traceback, and what was sent may hold that
        # exception (Trio sends a cancellation in as an ``outcome.Error``), a cycle
        # left to the cycle collector on every timeout that expires.
        try:
            return self.ctx.run(self.coro.send, value)
        finally:
            del value

    def throw(self, *exc: Any) -> Any:
        # As in send: ``exc`` holds the exception, whose traceback will hold this frame.
        try:
            return self.ctx.run(self.coro.throw, *exc)
        finally:
            del exc

    def close(self) -> None:
        self.ctx.run(self.coro.close)
