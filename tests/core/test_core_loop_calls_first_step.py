"""A sync caller's coroutine: its first step runs at once on the loop, in its own task.

On Python 3.12+ the task is started eagerly (``eager_start``); on 3.11 synchronaut
runs the first step itself with the task set as the current one, and the task carries
on from there (``_loop_calls._start_eagerly`` and ``_relay``). Either way the call
completes from inside its task, without a done callback. What the coroutine sees must
be what a task gives: the same current task before and after it suspends, a cancel of
that task reaching it the way asyncio delivers one (the future it awaits cancelled
too), its done callbacks run, its ContextVar changes kept, its exceptions handed to
the caller and never logged as unretrieved.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from contextvars import ContextVar

import pytest

from synchronaut_core import call_any

var: ContextVar[int] = ContextVar("first_step_var", default=0)


def test_the_first_step_runs_in_the_task_that_goes_on() -> None:
    async def callee() -> bool:
        first = asyncio.current_task()
        assert first is not None
        await asyncio.sleep(0)
        second = asyncio.current_task()
        await asyncio.sleep(0.01)
        return first is second is asyncio.current_task() and not first.done()

    assert call_any(callee) is True


def test_a_call_that_never_suspends_is_in_a_task() -> None:
    async def callee() -> tuple[bool, str]:
        task = asyncio.current_task()
        return task is not None and not task.done(), type(asyncio.get_running_loop()).__name__

    in_task, _ = call_any(callee)
    assert in_task


def test_sniffio_sees_asyncio_in_the_first_step() -> None:
    sniffio = pytest.importorskip("sniffio")

    async def callee() -> str:
        return sniffio.current_async_library()

    assert call_any(callee) == "asyncio"


def test_its_own_cancel_in_the_first_step_cancels_the_future_it_awaits() -> None:
    async def callee() -> tuple[str, bool]:
        fut = asyncio.get_running_loop().create_future()
        task = asyncio.current_task()
        assert task is not None
        task.cancel("bye")
        try:
            await fut
        except asyncio.CancelledError as exc:
            return str(exc.args[0] if exc.args else ""), fut.cancelled()
        return "not cancelled", fut.cancelled()

    assert call_any(callee) == ("bye", True)


def test_its_own_cancel_in_the_first_step_cancels_the_task_it_awaits() -> None:
    async def callee() -> bool:
        inner = asyncio.ensure_future(asyncio.sleep(10))
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        try:
            await inner
        except asyncio.CancelledError:
            return inner.cancelled()
        return False

    assert call_any(callee) is True


def test_its_own_cancel_before_a_bare_yield_reaches_it_at_the_next_step() -> None:
    async def callee() -> str:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        try:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            return "cancelled"
        return "not cancelled"

    assert call_any(callee) == "cancelled"


def test_a_cancelled_error_raised_by_the_first_step_reaches_the_caller() -> None:
    async def callee() -> None:
        raise asyncio.CancelledError("by itself")

    with pytest.raises(asyncio.CancelledError):
        call_any(callee)

    async def fine() -> int:
        return 7

    assert call_any(fine) == 7  # the loop serves on


def test_done_callbacks_added_in_the_first_step_run() -> None:
    seen = threading.Event()

    async def callee() -> int:
        task = asyncio.current_task()
        assert task is not None
        task.add_done_callback(lambda _: seen.set())
        return 1

    assert call_any(callee) == 1
    assert seen.wait(5)


def test_context_changes_of_the_first_step_are_seen_later_and_by_the_caller() -> None:
    async def callee() -> int:
        var.set(1)
        await asyncio.sleep(0)
        seen = var.get()
        var.set(2)
        return seen

    token = var.set(0)
    try:
        assert call_any(callee) == 1
        assert var.get() == 2
    finally:
        var.reset(token)


def test_interrupts_raised_in_the_first_step_go_to_the_caller() -> None:
    async def callee() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        call_any(callee)

    async def fine() -> int:
        return 8

    assert call_any(fine) == 8


def test_exceptions_reach_the_caller_and_are_never_logged_as_unretrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def at_once() -> None:
        raise ValueError("at once")

    async def later() -> None:
        await asyncio.sleep(0)
        raise ValueError("later")

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        for callee in (at_once, later) * 3:
            with pytest.raises(ValueError, match="at once|later"):
                call_any(callee)
        gc.collect()

        async def flush() -> None:
            await asyncio.sleep(0.01)

        call_any(flush)
        gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
