"""ContextVar write-back: make a callee's ContextVar changes visible to its caller.

A callee that runs in another thread or task runs in a *copy* of the caller's
context (``contextvars.copy_context()``), so its ``var.set()`` calls land in that
copy. Once the call returns, the caller applies the copy's values to its own context,
so the call behaves like a direct call.
"""

from __future__ import annotations

from contextvars import Context, copy_context

_MISSING = object()


def _write_back(ctx: Context) -> None:
    """Set, in the current context, every ContextVar whose value differs in ``ctx``.

    Runs in the caller (its thread and, in async code, its task) after the callee
    finished with ``ctx``. Contexts are immutable mappings that share structure, so
    the equality test is cheap when the callee changed nothing (the common case).
    """
    if ctx == copy_context():
        return
    for var, value in ctx.items():
        if var.get(_MISSING) is not value:
            var.set(value)
