"""Found by review (not fixed): an inline call abandoned with its loop is never collected.

A task left pending when its loop is closed (``run_until_complete`` of another
coroutine, then ``close()``, with no ``asyncio.run`` to cancel what is left) is normally
reclaimed by the garbage collector: its coroutine is closed, its ``finally`` blocks run
and asyncio reports "Task was destroyed but it is pending!". With an inline call
suspended at a bridge call, the cycle (task -> driver -> greenlet -> the inline code's
frames -> the awaited coroutine -> its future -> the task) goes through the suspended
greenlet's frames, which greenlet does not show to the collector: the cycle is never
collected, the inline code's ``finally`` blocks never run, and nothing is reported.
Python's own frames in the cycle (the user's locals) make it impossible to break from
synchronaut's side; documented as a limit (cancel tasks before closing their loop, as
``asyncio.run`` does).
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest

from synchronaut_core import call_any


@pytest.mark.xfail(
    strict=True,
    reason="greenlet hides a suspended greenlet's frames from the cycle collector: an inline "
    "call abandoned with its closed loop is never collected (documented limit)",
)
def test_an_inline_call_left_pending_on_a_closed_loop_is_collected() -> None:
    cleaned: list[str] = []
    tasks: list[weakref.ref[Any]] = []

    def body() -> None:
        event = asyncio.Event()  # a loop-bound object in the inline code's frame
        try:
            call_any(event.wait)
        finally:
            cleaned.append("finally")

    async def main() -> None:
        task = asyncio.ensure_future(call_any(body, inline=True))
        tasks.append(weakref.ref(task))
        await asyncio.sleep(0.01)  # suspended in event.wait

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()  # the task is still pending: nothing cancels it
    gc.collect()
    assert tasks[0]() is None
    assert cleaned == ["finally"]
