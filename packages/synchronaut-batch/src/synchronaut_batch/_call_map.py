"""``call_map``: call every function with the same arguments."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from contextvars import copy_context
from typing import Any

from synchronaut_core import CallOptions, current_async_library

from ._calls import _Call, _check_funcs
from ._map import _run_batch
from ._pending import _Pending

__all__ = ["call_map"]


def call_map(
    funcs: Iterable[Callable[..., Any]],
    /,
    *args: Any,
    timeout: float | None = None,
    executor: Executor | None = None,
    **kwargs: Any,
) -> Any:
    """Call each of ``funcs`` with ``(*args, **kwargs)``; the results in order.

    In asyncio or Trio code it returns an awaitable of the list and the calls run
    concurrently (as :func:`parallel_map` with ``return_exceptions=False``: the first
    failure cancels the others and propagates). In sync code it returns the list,
    calling the functions one after another in this thread (an ``async def`` runs on
    synchronaut's background loop meanwhile). ``timeout`` applies to each call
    (``CallAnyTimeout``); ``executor`` runs the sync functions that are offloaded.
    Either way each call starts from the caller's ContextVars, in a copy of its own:
    its changes are seen neither by the other calls nor by the caller.

    Raises ``TypeError`` naming ``funcs[i]`` if an entry is not callable, and
    ``TypeError``/``ValueError`` for a bad ``executor``/``timeout``, before any call.
    To pass the callees keywords named ``timeout`` or ``executor``, use
    :func:`parallel_map`.
    """
    checked = _check_funcs(funcs)
    options = CallOptions(timeout=timeout, executor=executor)
    library = current_async_library()
    if library is None:
        # One after another in this thread, yet each call starts from the caller's
        # ContextVars as they are now and its changes reach neither the next call nor
        # the caller -- as in async code, where each runs in a copy of its own (see
        # ``_context``), and as the calls of ``parallel_map`` do from sync code.
        start = copy_context()
        return [start.copy().run(options, func, *args, **kwargs) for func in checked]
    calls: list[_Call] = [(func, args, kwargs, options) for func in checked]
    return _run_batch(library, _Pending.of_checked(calls), False, None)
