"""ContextVar write-back: make a callee's ContextVar changes visible to its caller.

A callee that runs in another thread or task runs in a *copy* of the caller's
context (``contextvars.copy_context()``), so its ``var.set()`` calls land in that
copy. Once the call returns, the caller applies the copy's values to its own context,
so the call behaves like a direct call.
"""

from __future__ import annotations

from contextvars import Context, ContextVar, copy_context
from typing import Any

_MISSING = object()

#: synchronaut's own ContextVars, set in a callee's context copy for the callee's
#: sake; never copied back to the caller.
_INTERNAL: set[ContextVar[Any]] = set()


def _write_back(ctx: Context, baseline: Context | None = None) -> None:
    """Set, in the current context, every ContextVar whose value differs in ``ctx``.

    Runs in the caller (its thread and, in async code, its task) after the callee
    finished with ``ctx``. ``baseline`` is ``ctx`` as it was when the callee started
    (default: the caller's current context, which a blocked caller cannot have
    changed). Contexts are immutable mappings that share structure, so the equality
    test is cheap when the callee changed nothing (the common case).
    """
    try:
        if ctx == (copy_context() if baseline is None else baseline):
            return
    except Exception:
        # Comparing contexts compares changed values with ``==``, which a value may
        # make raise (a NumPy array's truth value): the call succeeded, so its
        # changes are applied below, tested by identity alone.
        pass
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
