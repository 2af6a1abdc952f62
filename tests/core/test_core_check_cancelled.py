"""Offloaded sync code learns through check_cancelled() that its caller gave up."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import trio

from synchronaut_core import CallAnyTimeout, CallCancelled, call_any, check_cancelled


def test_check_cancelled_outside_an_offload_returns_none() -> None:
    assert check_cancelled() is None
    assert call_any(check_cancelled) is None  # a direct call: nobody can give up


def long_loop(stopped: threading.Event, results: list[str]) -> None:
    try:
        for _ in range(1000):
            check_cancelled()
            time.sleep(0.01)
        results.append("ran to the end")
    except CallCancelled as exc:
        results.append(str(exc))
        raise
    finally:
        stopped.set()


def test_sync_caller_timeout_stops_a_cooperative_loop() -> None:
    stopped = threading.Event()
    results: list[str] = []
    with pytest.raises(CallAnyTimeout):
        call_any(long_loop, stopped, results, timeout=0.1)
    assert stopped.wait(2)
    assert results == ["the caller of long_loop timed out after 0.1s; stop the work"]


def test_event_loop_timeout_stops_a_cooperative_loop(backend) -> None:
    stopped = threading.Event()
    results: list[str] = []

    async def main() -> None:
        with pytest.raises(CallAnyTimeout):
            await call_any(long_loop, stopped, results, timeout=0.1)

    backend.run(main)
    assert stopped.wait(2)
    assert results and "timed out" in results[0]


def test_asyncio_cancellation_stops_a_cooperative_loop(asyncio_backend) -> None:
    stopped = threading.Event()
    results: list[str] = []

    async def main() -> None:
        task = asyncio.ensure_future(call_any(long_loop, stopped, results))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio_backend.run(main)
    assert stopped.wait(2)
    assert results == ["the caller of long_loop was cancelled; stop the work"]


def test_trio_cancellation_stops_a_cooperative_loop() -> None:
    stopped = threading.Event()
    results: list[str] = []

    async def main() -> None:
        with trio.move_on_after(0.05):
            await call_any(long_loop, stopped, results)

    trio.run(main)
    assert stopped.wait(2)
    assert results == ["the caller of long_loop was cancelled; stop the work"]


def test_call_cancelled_is_not_caught_by_except_exception() -> None:
    assert not issubclass(CallCancelled, Exception)
