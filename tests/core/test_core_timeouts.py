"""Timeouts raise CallAnyTimeout; timed-out coroutines are cancelled; nothing else changes."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
import trio

from synchronaut_core import CallAnyTimeout, call_any


def sync_sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


def test_call_any_timeout_is_a_builtin_timeout_error() -> None:
    assert issubclass(CallAnyTimeout, TimeoutError)


def test_sync_timeout_in_sync_code_names_function_and_limit() -> None:
    with pytest.raises(
        CallAnyTimeout, match=r"^Function sync_sleep timed out after 0\.2s$"
    ) as info:
        call_any(sync_sleep, 2, timeout=0.2)
    assert info.value.func_name == "sync_sleep"
    assert info.value.timeout == 0.2


def test_lambda_timeout_message_matches_the_spec(backend) -> None:
    async def main() -> None:
        with pytest.raises(CallAnyTimeout) as info:
            await call_any(lambda: time.sleep(1), timeout=0.1)
        assert str(info.value) == "Function <lambda> timed out after 0.1s"

    backend.run(main)


def test_sync_call_within_its_timeout_returns() -> None:
    assert call_any(sync_sleep, 0, timeout=5) == "slept"


def test_timed_out_sync_work_is_abandoned_and_logged_at_debug(caplog) -> None:
    release = threading.Event()
    finished = threading.Event()

    def blocker() -> None:
        release.wait(10)
        finished.set()

    with caplog.at_level(logging.DEBUG, logger="synchronaut"), pytest.raises(CallAnyTimeout):
        call_any(blocker, timeout=0.05)
    assert not finished.is_set()  # still running: threads cannot be killed
    release.set()
    assert finished.wait(5)
    assert any("abandoned" in r.getMessage() for r in caplog.records)


def test_timed_out_coroutine_on_background_loop_is_cancelled_and_its_finally_runs() -> None:
    cleaned = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned.set()

    started = time.monotonic()
    with pytest.raises(CallAnyTimeout, match="slow timed out after 0.1s"):
        call_any(slow, timeout=0.1)
    assert time.monotonic() - started < 2
    assert cleaned.wait(2)


def test_timed_out_coroutine_in_event_loop_is_cancelled(backend) -> None:
    cleaned: list[bool] = []

    async def slow() -> None:
        try:
            await backend.sleep_forever()
        finally:
            cleaned.append(True)

    async def main() -> None:
        with pytest.raises(CallAnyTimeout, match="slow timed out after 0.05s"):
            await call_any(slow, timeout=0.05)

    backend.run(main)
    assert cleaned == [True]


def test_timed_out_sync_offload_in_event_loop(backend) -> None:
    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(CallAnyTimeout, match="sync_sleep timed out after 0.1s"):
            await call_any(sync_sleep, 1, timeout=0.1)
        return time.monotonic() - started

    assert backend.run(main) < 0.9


def test_callee_own_timeout_error_propagates_unchanged(backend) -> None:
    class Mine(TimeoutError):
        pass

    def sync_raises() -> None:
        raise Mine("from the callee")

    async def async_raises() -> None:
        raise Mine("from the callee")

    async def main() -> None:
        for func in (sync_raises, async_raises):
            with pytest.raises(Mine) as info:
                await call_any(func, timeout=5)
            assert not isinstance(info.value, CallAnyTimeout)

    backend.run(main)
    for func in (sync_raises, async_raises):
        with pytest.raises(Mine) as info:
            call_any(func, timeout=5)
        assert not isinstance(info.value, CallAnyTimeout)


def test_outer_asyncio_cancellation_propagates_as_cancellation(asyncio_backend) -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        for awaitable_factory in (
            lambda: call_any(slow, timeout=5),
            lambda: call_any(sync_sleep, 1, timeout=5),
        ):
            task = asyncio.ensure_future(awaitable_factory())
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio_backend.run(main)


def test_outer_trio_cancellation_is_not_turned_into_a_timeout() -> None:
    async def slow() -> None:
        await trio.sleep(10)

    async def main() -> None:
        for func, args in ((slow, ()), (sync_sleep, (1,))):
            with trio.move_on_after(0.05) as scope:
                await call_any(func, *args, timeout=5)
            assert scope.cancelled_caught

    trio.run(main)


def test_a_coroutine_that_suppresses_cancellation_keeps_its_value() -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return "kept"
        return "slept"

    # Only a cancellation that propagates is a timeout; a swallowed one is the
    # callee's choice, as with asyncio.timeout.
    assert call_any(stubborn, timeout=0.05) == "kept"
