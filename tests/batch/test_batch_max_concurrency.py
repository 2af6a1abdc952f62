"""max_concurrency=N: never more than N calls (tasks, executor futures) in flight."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import trio
from batch_helpers import Mode, Signal, checkpoint

from synchronaut_batch import parallel_map
from synchronaut_core import current_async_library


class InFlight:
    """Counts calls in flight and remembers the peak (callers in one thread)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.now = 0
        self.peak = 0
        self.full = Signal()

    async def call(self, i: int) -> int:
        self.now += 1
        self.peak = max(self.peak, self.now)
        if self.now == self.limit:
            self.full.set()
        # The first N calls wait until N are in flight at once; later ones pass.
        await self.full.wait()
        self.now -= 1
        return i


def test_coroutines_in_flight_reach_but_never_exceed_max_concurrency(mode: Mode) -> None:
    counter = InFlight(limit=4)
    calls = [(counter.call, (i,), {}, 5.0) for i in range(50)]

    results = mode.call(lambda: parallel_map(calls, max_concurrency=4))

    assert results == list(range(50))
    assert counter.peak == 4


def test_sync_calls_in_flight_reach_but_never_exceed_max_concurrency(mode: Mode) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    # Three at a time, every time: the barrier breaks (and the test fails) unless
    # exactly three calls are in flight whenever calls remain.
    barrier = threading.Barrier(3, timeout=5)

    def work(i: int) -> int:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        barrier.wait()
        with lock:
            state["now"] -= 1
        return i

    calls = [(work, (i,), {}, None) for i in range(21)]
    with ThreadPoolExecutor(10) as pool:
        results = mode.call(lambda: parallel_map(calls, executor=pool, max_concurrency=3))

    assert results == list(range(21))
    assert state["peak"] == 3


def test_a_larger_max_concurrency_than_the_batch_is_fine(mode: Mode) -> None:
    counter = InFlight(limit=5)
    calls = [(counter.call, (i,), {}, 5.0) for i in range(5)]

    assert mode.call(lambda: parallel_map(calls, max_concurrency=1000)) == list(range(5))


def test_max_concurrency_bounds_the_tasks_the_batch_holds(run: Any) -> None:
    peak_tasks = 0

    async def count_tasks(i: int) -> int:
        nonlocal peak_tasks
        if current_async_library() == "trio":
            task = trio.lowlevel.current_task()
            assert task.parent_nursery is not None
            tasks = len(task.parent_nursery.child_tasks)
        else:
            tasks = len(asyncio.all_tasks()) - 1  # minus the test's main task
        peak_tasks = max(peak_tasks, tasks)
        await checkpoint()
        return i

    async def main() -> list[Any]:
        calls = [(count_tasks, (i,), {}, None) for i in range(500)]
        return await parallel_map(calls, max_concurrency=7)

    assert run(main) == list(range(500))
    assert peak_tasks == 7


@pytest.mark.parametrize("mode_name", ["sync", "asyncio", "trio"])
def test_100_000_calls_with_max_concurrency_100_complete(mode_name: str) -> None:
    # A CI-sized stress run: trivial coroutines and sync calls, 100 in flight at most.
    now = peak = 0

    async def tick(i: int) -> int:
        nonlocal now, peak
        now += 1
        peak = max(peak, now)
        await checkpoint()
        now -= 1
        return i

    total = 100_000
    calls: list[Any] = [(tick, (i,), {}, None) for i in range(total)]
    started = time.perf_counter()
    results = Mode(mode_name).call(lambda: parallel_map(calls, max_concurrency=100))
    elapsed = time.perf_counter() - started

    assert len(results) == total
    assert results[0] == 0
    assert results[-1] == total - 1
    assert peak == 100
    assert elapsed < 30
