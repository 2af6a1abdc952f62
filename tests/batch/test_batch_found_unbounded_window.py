"""A batch without ``max_concurrency`` (issue 17): calls in flight in a window that grows.

An asyncio batch without a limit used to make one task per entry as fast as it read
them: a hundred thousand quick calls meant tens of thousands of tasks, futures and
queued thread-pool jobs alive at once, and the cyclic garbage collector walking them
made the time per call grow with the batch (2.8x from 1 k to 100 k calls). Now the
workers take the next entry as they finish, within a window that doubles after every
loop round in which no call finished. What must still hold: no call waits for another
to finish before it starts -- calls that wait for each other all start.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import pytest
from batch_helpers import Countdown, Mode, checkpoint

from synchronaut_batch import parallel_map

#: More than the first window (64) and than _READ_AHEAD (256): the window has to grow.
MANY = 600


def test_calls_that_wait_for_the_last_one_all_start(mode: Mode) -> None:
    # Every call waits until all have arrived: only if all are in flight at once can
    # the batch finish (each call's timeout ends the test otherwise).
    countdown = Countdown(MANY)
    calls = [(countdown.arrive, (), {}, 30.0) for _ in range(MANY)]

    assert mode.call(lambda: parallel_map(calls)) == [None] * MANY


def test_waiting_calls_all_start_while_quick_ones_keep_finishing(mode: Mode) -> None:
    # Quick calls finish in every loop round, so the window does not grow for them --
    # but each one that finishes frees its place for the next entry, so the waiting
    # calls behind them start too, and once only waiting calls are in flight no call
    # finishes and the window grows.
    countdown = Countdown(MANY)

    async def quick(i: int) -> int:
        await checkpoint()
        return i

    calls = [
        (countdown.arrive, (), {}, 30.0) if i % 2 else (quick, (i,), {}, 30.0)
        for i in range(2 * MANY)
    ]

    results = mode.call(lambda: parallel_map(calls))

    assert results == [None if i % 2 else i for i in range(2 * MANY)]


def test_sync_calls_that_wait_for_each_other_all_start(mode: Mode) -> None:
    parties = 300  # more than the first windows, and as many threads
    barrier = threading.Barrier(parties, timeout=10)

    def meet(i: int) -> int:
        barrier.wait()  # BrokenBarrierError unless all of them run at once
        return i

    with ThreadPoolExecutor(parties) as pool:
        calls = [(meet, (i,), {}, None) for i in range(parties)]
        assert mode.call(lambda: parallel_map(calls, executor=pool)) == list(range(parties))


class _SlowPool(Executor):
    """Runs the jobs submitted from an event loop's thread on that loop, a few per round.

    A thread pool that finishes calls more slowly than the batch can start them --
    deterministically, whatever the machine's load: the jobs queue up here.
    """

    def __init__(self, per_round: int) -> None:
        self._per_round = per_round
        self._queue: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = deque()
        self._pumping = False
        self.most_queued = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.append((future, functools.partial(fn, **kwargs), args))
        self.most_queued = max(self.most_queued, len(self._queue))
        if not self._pumping:
            self._pumping = True
            asyncio.get_running_loop().call_soon(self._pump)
        return future

    def _pump(self) -> None:
        for _ in range(min(self._per_round, len(self._queue))):
            future, fn, args = self._queue.popleft()
            if future.set_running_or_notify_cancel():
                future.set_result(fn(*args))
        if self._queue:
            asyncio.get_running_loop().call_soon(self._pump)
        else:
            self._pumping = False


@pytest.mark.parametrize("mode", ["sync", "asyncio", "uvloop"], indirect=True)
def test_quick_calls_without_a_limit_are_not_all_in_flight_at_once(mode: Mode) -> None:
    # On asyncio (sync code runs its batch on the background asyncio loop): the calls
    # queued for an executor that is slower than the batch stay within a window, not
    # the whole batch. (Trio's workers each spawn the next one when they first run.)
    count = 20_000
    pool = _SlowPool(per_round=8)
    calls = [(abs, (i,), {}, None) for i in range(count)]

    assert mode.call(lambda: parallel_map(calls, executor=pool)) == list(range(count))
    assert pool.most_queued <= 1_024, pool.most_queued
