"""Found by review: a greenlet started by inline code blocked its loop at bridge calls.

Since inline code is recognised by its own greenlet (``_inline._running_inline``), a
greenlet that inline code starts itself (``greenlet.greenlet(fn).switch()``: a
greenlet-based library, a hand-made scheduler) is not inline code. But the thread is
the inline call's event-loop thread: a bridge call that waits there blocked it, with
the loop stopped -- a coroutine that needs that loop (an ``asyncio.Event`` set by
another task, a lock held by one, a client bound to the loop) never completed: the
call hung until its timeout. (Before that change the driving task awaited such calls
but then resumed the wrong greenlet: the inline one, not the caller.)

Now such a wait is refused at once with a RuntimeError naming the inline function, as
a switch to the driving task is: the driving task cannot resume a greenlet it does
not drive. Calls that do not wait (sync callees, direct calls) work as in any code.
"""

from __future__ import annotations

import asyncio

import greenlet
import pytest

from synchronaut_core import call_any, call_sync


def test_a_wait_in_a_greenlet_started_by_inline_code_is_refused_not_hung() -> None:
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

    with pytest.raises(RuntimeError, match="in a greenlet that inline code of body started"):
        asyncio.run(main())


def test_calls_that_do_not_wait_work_in_such_a_greenlet() -> None:
    def direct() -> int:
        return call_any(len, "four") + call_sync(len, "xy")

    def body() -> int:
        return greenlet.greenlet(direct).switch()

    async def main() -> int:
        return await call_any(body, inline=True)

    assert asyncio.run(main()) == 6
