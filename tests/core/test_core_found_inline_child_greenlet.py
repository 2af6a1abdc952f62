"""Found by review (open): a greenlet started by inline code blocks its loop at bridge calls.

Since inline code is recognised by its own greenlet (``_inline._running_inline``), a
greenlet that inline code starts itself (``greenlet.greenlet(fn).switch()``: a
greenlet-based library, a hand-made scheduler) is plain sync code: its bridge calls
block the thread on synchronaut's background loop (``test_core_inline_loop_hiding``
pins that). But the thread is the inline call's event loop thread: while it blocks,
that loop is stopped. A coroutine that needs that loop -- an ``asyncio.Event`` set by
another task, a lock held by one, a client or pool bound to the loop, which the README
says "just work" inline -- never completes: the call hangs (here: until its
``timeout``). Before the change the driving task awaited such calls (the loop kept
serving), though it then resumed the wrong greenlet (the inline one, not the caller).

What would fix it: the driving task awaits a bridge call made in a greenlet that
inline code started (found through its parents: the first ``_Green`` up the chain)
and switches back into *that* greenlet (``_suspend`` hands the task the coroutine
together with ``greenlet.getcurrent()``; ``_drive`` resumes the greenlet that asked,
and throws cancellations into it) -- or such calls are refused with a RuntimeError,
as a switch to the driving task is. Either is a design decision (left to the lead);
until then this test is an expected failure.
"""

from __future__ import annotations

import asyncio

import greenlet
import pytest

from synchronaut_core import CallAnyTimeout, call_any, call_sync


@pytest.mark.xfail(
    strict=True,
    raises=CallAnyTimeout,
    reason="open: a greenlet started by inline code blocks the loop it needs (see module)",
)
def test_a_greenlet_started_by_inline_code_can_wait_for_its_loop() -> None:
    def waits(event: asyncio.Event) -> bool:
        # An event another task of this loop sets: only this loop can end the wait.
        return call_sync(event.wait, timeout=1.0)

    def body(event: asyncio.Event) -> bool:
        return greenlet.greenlet(waits).switch(event)

    async def main() -> bool:
        event = asyncio.Event()

        async def setter() -> None:
            await asyncio.sleep(0.01)
            event.set()

        task = asyncio.create_task(setter())
        try:
            return await call_any(body, event, inline=True)
        finally:
            await task

    assert asyncio.run(main()) is True
