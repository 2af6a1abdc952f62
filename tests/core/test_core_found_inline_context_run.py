"""Found by review: bridge calls inside a ``Context.run()`` of inline code saw the task's context.

Sync code that runs part of its work in a context of its own (``copy_context().run(f)``,
as request-scoped libraries do) expects a bridge call made there to see that context,
and its changes to land there -- what plain sync code gets: the callee runs in a copy of
the *current* context, and what it sets is written back to it. Inline, the driving task
awaited the coroutine in the task's own context: the callee saw the values from
outside the ``run()``, and its changes leaked into the task's context instead. The
driver now awaits such a coroutine with the greenlet's current context made current
for each step (it cannot be entered twice). Every bridge call kind is compared with the
same code run as plain sync code.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Callable
from typing import Any

import trio
from support_backends import Backend
from support_threads import in_thread

from synchronaut_core import call_any, call_sync, current_async_library, sync_cm

var: contextvars.ContextVar[str] = contextvars.ContextVar("context_run_var", default="unset")


async def _checkpoint() -> None:
    # Wherever the coroutine runs: the task's loop inline, synchronaut's background
    # (asyncio) loop for plain sync code.
    if current_async_library() == "trio":
        await trio.lowlevel.checkpoint()
    else:
        await asyncio.sleep(0)


def _scenario() -> Callable[[], list[Any]]:
    async def read_and_set(tag: str) -> str:
        await _checkpoint()
        seen = var.get()
        var.set(f"set by {tag}")
        return seen

    @contextlib.asynccontextmanager
    async def resource() -> AsyncIterator[str]:
        await _checkpoint()
        yield var.get()
        var.set("set by the context manager's exit")

    def offloaded() -> str:
        seen = var.get()
        var.set("set by the offloaded def")
        return seen

    def body() -> list[Any]:
        var.set("outside")
        seen: list[Any] = []

        def inner(kind: str, call: Callable[[], Any]) -> None:
            var.set(f"inside, before {kind}")
            seen.append((kind, call(), var.get()))

        for kind, call in [
            ("call_any", lambda: call_any(read_and_set, "call_any")),
            ("call_sync", lambda: call_sync(read_and_set, "call_sync")),
            ("timeout", lambda: call_any(read_and_set, "timeout", timeout=5)),
            ("force_offload", lambda: call_any(offloaded, force_offload=True)),
        ]:
            contextvars.copy_context().run(inner, kind, call)

        def with_cm() -> None:
            var.set("inside, before sync_cm")
            with sync_cm(resource()) as value:
                seen.append(("sync_cm enter", value))
            seen.append(("sync_cm exit", var.get()))

        contextvars.copy_context().run(with_cm)
        seen.append(("outside", var.get()))
        return seen

    return body


def test_bridge_calls_inside_a_context_run_of_inline_code_see_that_context(
    backend: Backend,
) -> None:
    body = _scenario()
    # Plain sync code (a thread of its own, no loop): the reference.
    expected = in_thread(lambda: contextvars.Context().run(body))
    assert ("call_any", "inside, before call_any", "set by call_any") in expected

    async def main() -> list[Any]:
        var.set("the task's")
        seen = await call_any(body, inline=True)
        assert var.get() == "outside"  # inline code's own set, as a direct call's
        return seen

    assert backend.run(main) == expected
