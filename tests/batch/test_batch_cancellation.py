"""return_exceptions=False: the first failure cancels everything still pending.

Coroutines get CancelledError (Trio: Cancelled) and their ``finally`` blocks have
run by the time the failure reaches the caller; sync calls still queued in the
executor never start. Cancelling the caller cancels the batch the same way.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import pytest
import trio
from batch_helpers import Countdown, Mode, forever, nap

from synchronaut_batch import parallel_map
from synchronaut_core import WorkerPool, current_async_library


class Boom(Exception):
    pass


async def pending_until_cancelled(countdown: Countdown, log: list[str]) -> None:
    try:
        await countdown.arrive()
        await forever()
    except BaseException as exc:
        log.append(type(exc).__name__)
        raise
    finally:
        log.append("finally")


async def fail_when_all_started(countdown: Countdown) -> None:
    await countdown.arrive()
    raise Boom("first failure")


def test_first_failure_cancels_pending_coroutines_before_it_propagates(mode: Mode) -> None:
    log: list[str] = []
    countdown = Countdown(6)
    calls: list[Any] = [(pending_until_cancelled, (countdown, log), {}, None) for _ in range(5)]
    calls.append((fail_when_all_started, (countdown,), {}, None))

    with pytest.raises(Boom, match="first failure"):
        mode.call(lambda: parallel_map(calls))

    # Already true when the failure arrives: the batch waited for the cancellations.
    # (In sync code the batch runs on synchronaut's background asyncio loop.)
    assert log.count("Cancelled" if mode.name == "trio" else "CancelledError") == 5
    assert log.count("finally") == 5


def test_first_failure_cancels_pending_coroutines_under_max_concurrency(mode: Mode) -> None:
    log: list[str] = []
    countdown = Countdown(3)
    calls: list[Any] = [(pending_until_cancelled, (countdown, log), {}, None) for _ in range(2)]
    calls.append((fail_when_all_started, (countdown,), {}, None))
    never_started: list[int] = []
    calls += [(never_started.append, (i,), {}, None) for i in range(10)]

    with pytest.raises(Boom):
        mode.call(lambda: parallel_map(calls, max_concurrency=3))

    assert log.count("finally") == 2
    assert never_started == []  # later calls are not started after the failure


def _executors() -> list[Any]:
    return [
        pytest.param(lambda: ThreadPoolExecutor(1), id="ThreadPoolExecutor"),
        pytest.param(lambda: WorkerPool(1), id="WorkerPool"),
    ]


@pytest.mark.parametrize("make_executor", _executors())
def test_a_sync_call_queued_behind_a_blocker_never_runs_after_a_failure(
    mode: Mode, make_executor: Callable[[], Executor]
) -> None:
    # One worker: whichever `occupy` call gets it blocks there, the other waits in the
    # executor's queue. The failure must take the queued one back.
    started = threading.Event()
    release = threading.Event()
    ran: list[int] = []

    def occupy(i: int) -> None:
        ran.append(i)
        started.set()
        release.wait(10)

    async def fail_once_a_worker_is_busy() -> None:
        # Both `occupy` calls were submitted in the batch's first scheduling round,
        # before any worker thread could set `started`.
        while not started.is_set():
            await nap(0.001)
        raise Boom("failure")

    executor = make_executor()
    calls = [(occupy, (0,), {}, None), (occupy, (1,), {}, None)]
    calls.append((fail_once_a_worker_is_busy, (), {}, None))  # type: ignore[arg-type]
    try:
        with pytest.raises(Boom):
            mode.call(lambda: parallel_map(calls, executor=executor))
    finally:
        release.set()
    # FIFO with one worker: once this runs, a queued `occupy` would have run first.
    executor.submit(lambda: None).result(timeout=10)
    executor.shutdown(wait=True)

    assert len(ran) == 1


def test_cancelling_the_awaiting_task_cancels_the_batch(run: Any) -> None:
    log: list[str] = []

    async def main() -> str:
        countdown = Countdown(4)
        calls = [(pending_until_cancelled, (countdown, log), {}, None) for _ in range(3)]
        if current_async_library() == "trio":
            with trio.CancelScope() as scope:

                async def cancel_when_started() -> None:
                    await countdown.arrive()
                    scope.cancel()

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(cancel_when_started)
                    await parallel_map(calls)
            return "Cancelled"

        async def batch() -> None:
            await parallel_map(calls)

        task = asyncio.ensure_future(batch())
        await countdown.arrive()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return "CancelledError"

    name = run(main)

    assert log.count(name) == 3
    assert log.count("finally") == 3


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit])
def test_a_keyboard_interrupt_from_a_call_reaches_the_caller_once(
    mode: Mode, error: type[BaseException]
) -> None:
    log: list[str] = []
    countdown = Countdown(3)

    async def interrupt() -> None:
        await countdown.arrive()
        raise error()

    calls: list[Any] = [(pending_until_cancelled, (countdown, log), {}, None) for _ in range(2)]
    calls.append((interrupt, (), {}, None))

    # Even with return_exceptions: only Exceptions are returned in place.
    with pytest.raises(error):
        mode.call(lambda: parallel_map(calls, return_exceptions=True))

    assert log.count("finally") == 2
    # The shared background loop (sync mode) survived: the next batch runs as usual.
    assert mode.call(lambda: parallel_map([(nap, (0,), {}, None)])) == [None]
