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
    if ctx == (copy_context() if baseline is None else baseline):
        return
    for var, value in ctx.items():
        if var.get(_MISSING) is not value and var not in _INTERNAL:
            var.set(value)
