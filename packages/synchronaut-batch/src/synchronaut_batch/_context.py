"""Each call of a batch starts from the batch's starting ContextVars, as if it had a task.

A batch runs its calls on a few worker tasks that take call after call (asyncio and
Trio alike, bounded or not, ``parallel_map`` and ``parallel_iter``). A call awaited
directly in its worker runs in the worker's context: an ``async def``'s ``var.set()``
lands there, and so does a sync call's (the core writes an offloaded call's changes
back into the awaiting task's context). The next call of that worker would then start
from them -- a request id, a transaction, a counter leaking between unrelated calls.
``asyncio.gather`` gives every call a task, hence its own copy of the caller's
context; a batch must behave the same, without a task per call.

So a worker runs its calls directly (no cost) while its context is still the one it
started with -- every worker starts from a copy of the caller's context as it was
when the batch started -- and tests that after each call (:func:`_changed`, one
identity test when nothing changed; values by identity, never ``==``). Once a call
has changed it, the worker runs each further call in a fresh copy of its starting
context (:func:`_in_copy`): every step of the call's coroutine runs inside
``ctx.run``, so its changes land in that copy and die with it, and the worker's own
context is never touched again. A worker whose calls never change a ContextVar pays
one identity test per call (about 0.1 us: a context copy and its mapping); one
whose calls do pays about half a microsecond per quick call (a context copy, one
``ctx.run`` per step of the call, a ``StopIteration``), and never a task: retiring
such a worker for a fresh task, as unbounded asyncio batches did, cost ~9 us a call.

One thing still shows the worker: the task objects themselves (``current_task()``,
Trio's ``current_task().context``, asyncio's ``Task.get_context()`` give the
worker's).

Only code on the worker's thread (the event loop's, or Trio's) uses this module.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Generator
from contextvars import Context, copy_context
from typing import Any

from synchronaut_core._context import (  # pyright: ignore[reportPrivateUsage]
    _mapping_of,  # pyright: ignore[reportPrivateUsage]
    _same_bindings,  # pyright: ignore[reportPrivateUsage]
)

__all__ = ["_changed", "_in_copy", "_mapping_of"]


def _changed(start: Context, mapping: object | None) -> bool:
    """Does the current context differ from ``start``, a copy of it taken earlier?

    ``mapping`` is ``_mapping_of(start)``, taken once by the worker. Untouched, the
    current context shares ``start``'s mapping: one identity test. Otherwise the
    values are compared by identity (``_same_bindings``), never ``==``: a call that
    set a variable to an equal object (``True`` for ``1``, a fresh empty list for an
    empty one) changed it -- the next calls must read the caller's object, as with
    a task each. A variable set and then reset counts as changed (the worker runs
    its further calls in copies: slower, never wrong).
    """
    current = copy_context()
    if mapping is not None and _mapping_of(current) is mapping:
        return False
    return not _same_bindings(current, start, mapping)


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    # Any other awaitable (or a value that is not one: ``await`` raises TypeError,
    # the call's own failure, as awaiting it directly would) as a native coroutine.
    return await awaitable


@types.coroutine
def _in_copy(
    start: Context,
    caller: Callable[..., Any],
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Generator[Any, Any, Any]:
    """Await ``caller(func, *args, **kwargs)`` in a fresh copy of ``start``.

    The call is made inside the copy, and then each step of its coroutine runs
    inside it: whatever the call reads of the context at once (the core copies it
    for an offloaded sync call) and whatever it sets are the copy's. It runs in the
    awaiting task all the same: what the coroutine yields (an asyncio future, a Trio
    trap) goes to the task unchanged, what the task sends or throws in (a result, a
    cancellation) goes to the coroutine, inside the copy; closing us closes it.

    One generator, not a helper that makes one: this is the per-call path of a
    worker whose context a call changed, and a call that finishes without waiting
    (the common quick call) then costs one copy, two ``ctx.run`` and its
    ``StopIteration``.
    """
    ctx = start.copy()
    run = ctx.run
    coro = run(caller, func, *args, **kwargs)
    if type(coro) is not types.CoroutineType:
        coro = _awaited(coro)
    send = coro.send  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    try:
        signal = run(send, None)  # pyright: ignore[reportUnknownArgumentType]
    except StopIteration as done:
        return done.value
    while True:
        try:
            value = yield signal
        except GeneratorExit:
            run(coro.close)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
            raise
        except BaseException as exc:
            # Thrown in outside this ``except`` block: an exception the coroutine
            # raises afterwards gets no ``__context__`` a direct ``await`` would not.
            error: BaseException | None = exc
        else:
            try:
                signal = run(send, value)  # pyright: ignore[reportUnknownArgumentType]
            except StopIteration as done:
                return done.value
            continue
        try:
            signal = run(coro.throw, error)  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        except StopIteration as done:
            return done.value
        finally:
            # Not kept by this frame, which the traceback of what the coroutine raises
            # holds: no reference cycle through the exception.
            error = None
