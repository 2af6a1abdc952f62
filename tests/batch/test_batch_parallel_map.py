"""parallel_map: results in input order, per-call timeouts, exceptions, real concurrency."""

from __future__ import annotations

import contextvars
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from batch_helpers import Countdown, Mode, forever, nap

from synchronaut_batch import parallel_iter, parallel_map
from synchronaut_core import CallAnyTimeout, current_async_library


def sync_double(x: int) -> int:
    return x * 2


async def async_double(x: int) -> int:
    await nap(0)
    return x * 2


async def async_slow_double(x: int, delay: float) -> int:
    await nap(delay)
    return x * 2


def sync_slow_double(x: int, delay: float) -> int:
    time.sleep(delay)
    return x * 2


class Boom(Exception):
    pass


def sync_boom(message: str) -> None:
    raise Boom(message)


async def async_boom(message: str) -> None:
    await nap(0)
    raise Boom(message)


def test_results_come_back_in_input_order_though_later_calls_finish_first(mode: Mode) -> None:
    # Each call sleeps less than the one before it, so they finish in reverse order.
    calls: list[Any] = []
    for i in range(8):
        delay = (8 - i) * 0.005
        func = async_slow_double if i % 2 else sync_slow_double
        calls.append((func, (i, delay), {}, None))

    results = mode.call(lambda: parallel_map(calls))

    assert results == [i * 2 for i in range(8)]


def test_an_empty_batch_gives_an_empty_list(mode: Mode) -> None:
    assert mode.call(lambda: parallel_map([])) == []


def test_sync_and_async_functions_mix_in_one_batch(mode: Mode) -> None:
    calls = [(sync_double, (1,), {}, None), (async_double, (2,), {}, 5.0)] * 3

    assert mode.call(lambda: parallel_map(calls)) == [2, 4] * 3


def test_callee_keywords_named_timeout_or_executor_reach_the_callee(mode: Mode) -> None:
    def sync_options(*, timeout: str, executor: str) -> tuple[str, str]:
        return timeout, executor

    async def async_options(*, timeout: str, executor: str) -> tuple[str, str]:
        return timeout, executor

    kwargs = {"timeout": "mine", "executor": "also mine"}
    calls = [(sync_options, (), kwargs, 5.0), (async_options, (), kwargs, None)]

    assert mode.call(lambda: parallel_map(calls)) == [("mine", "also mine")] * 2


def test_a_per_call_timeout_gives_CallAnyTimeout_in_its_position(mode: Mode) -> None:
    release = threading.Event()

    def sync_stuck() -> None:
        release.wait(10)

    calls = [
        (sync_double, (1,), {}, None),
        (forever, (), {}, 0.05),
        (sync_stuck, (), {}, 0.05),
        (async_double, (2,), {}, 5.0),
    ]
    try:
        results = mode.call(lambda: parallel_map(calls, return_exceptions=True))
    finally:
        release.set()  # let the abandoned thread go

    assert results[0] == 2
    assert isinstance(results[1], CallAnyTimeout)
    assert str(results[1]) == "Function forever timed out after 0.05s"
    assert isinstance(results[2], CallAnyTimeout)
    assert str(results[2]) == "Function sync_stuck timed out after 0.05s"
    assert results[3] == 4


def test_a_per_call_timeout_raises_when_exceptions_are_not_returned(mode: Mode) -> None:
    calls = [(sync_double, (1,), {}, None), (forever, (), {}, 0.02)]

    with pytest.raises(CallAnyTimeout, match="Function forever timed out after 0.02s"):
        mode.call(lambda: parallel_map(calls))


def test_return_exceptions_returns_each_failure_in_its_position(mode: Mode) -> None:
    calls = [
        (sync_boom, ("first",), {}, None),
        (sync_double, (1,), {}, None),
        (async_boom, ("third",), {}, None),
        (async_double, (2,), {}, None),
    ]

    results = mode.call(lambda: parallel_map(calls, return_exceptions=True))

    assert [type(r) for r in results] == [Boom, int, Boom, int]
    assert [str(results[0]), results[1], str(results[2]), results[3]] == ["first", 2, "third", 4]


def test_the_first_failure_propagates_unchanged_with_its_traceback(mode: Mode) -> None:
    raised: list[BaseException] = []

    async def fail_once_started(countdown: Countdown) -> None:
        await countdown.arrive()
        error = Boom("the one")
        raised.append(error)
        raise error

    countdown = Countdown(2)
    calls = [(countdown.arrive, (), {}, None), (fail_once_started, (countdown,), {}, None)]

    with pytest.raises(Boom) as info:
        mode.call(lambda: parallel_map(calls))

    assert info.value is raised[0]  # the very object: not copied, not grouped
    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "fail_once_started" in frames


def test_a_sync_failure_propagates_as_itself(mode: Mode) -> None:
    calls = [(sync_double, (1,), {}, None), (sync_boom, ("sync",), {}, None)]

    with pytest.raises(Boom, match="sync") as info:
        mode.call(lambda: parallel_map(calls))

    frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
    assert "sync_boom" in frames


def test_coroutines_of_one_batch_run_concurrently(mode: Mode) -> None:
    # Every call waits until all have started: only a concurrent batch can finish.
    # (0.3 ran Trio batches one by one: this would have timed out there.)
    countdown = Countdown(20)
    calls = [(countdown.arrive, (), {}, 5.0) for _ in range(20)]

    assert mode.call(lambda: parallel_map(calls)) == [None] * 20


def test_sync_calls_of_one_batch_run_concurrently_in_the_executor(mode: Mode) -> None:
    barrier = threading.Barrier(10, timeout=5)

    def meet(i: int) -> tuple[int, str]:
        barrier.wait()  # BrokenBarrierError unless all ten run at once
        return i, threading.current_thread().name

    with ThreadPoolExecutor(10, thread_name_prefix="batch-test") as pool:
        calls = [(meet, (i,), {}, None) for i in range(10)]
        results = mode.call(lambda: parallel_map(calls, executor=pool))

    assert [i for i, _ in results] == list(range(10))
    assert all(name.startswith("batch-test") for _, name in results)


def test_200_coroutines_sleeping_50ms_from_sync_code_take_about_50ms() -> None:
    threads: set[str] = set()

    async def sleeper(i: int) -> int:
        threads.add(threading.current_thread().name)
        await nap(0.05)
        return i

    calls = [(sleeper, (i,), {}, None) for i in range(200)]
    started = time.perf_counter()
    results = parallel_map(calls)
    elapsed = time.perf_counter() - started

    assert results == list(range(200))
    assert elapsed < 1.0
    assert threads == {"synchronaut-loop"}  # together on the background loop


def test_40_sync_sleeps_of_50ms_with_40_workers_take_about_50ms(mode: Mode) -> None:
    calls = [(sync_slow_double, (i, 0.05), {}, None) for i in range(40)]

    with ThreadPoolExecutor(40) as pool:
        started = time.perf_counter()
        results = mode.call(lambda: parallel_map(calls, executor=pool))
        elapsed = time.perf_counter() - started

    assert results == [i * 2 for i in range(40)]
    assert elapsed < 1.5


def test_trio_batch_of_sleeps_is_concurrent() -> None:
    calls = [(async_slow_double, (i, 0.05), {}, None) for i in range(50)]
    mode = Mode("trio")

    started = time.perf_counter()
    results = mode.call(lambda: parallel_map(calls))

    assert results == [i * 2 for i in range(50)]
    assert time.perf_counter() - started < 1.0


def test_in_async_code_it_returns_an_awaitable_and_runs_there(run: Any) -> None:
    async def where() -> str | None:
        return current_async_library()

    async def main() -> tuple[bool, list[Any]]:
        pending = parallel_map([(where, (), {}, None)])
        is_list = isinstance(pending, list)
        return is_list, await pending

    is_list, results = run(main)

    assert not is_list
    assert results[0] in {"asyncio", "trio"}


def test_in_sync_code_it_returns_the_list() -> None:
    results = parallel_map([(sync_double, (3,), {}, None)])

    assert results == [6]


def test_a_generator_of_calls_is_accepted(mode: Mode) -> None:
    calls = ((sync_double, (i,), {}, None) for i in range(5))

    assert mode.call(lambda: parallel_map(calls)) == [0, 2, 4, 6, 8]


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="unset")


def sync_request_id() -> str:
    return REQUEST_ID.get()


async def async_request_id() -> str:
    return REQUEST_ID.get()


def test_every_call_sees_the_callers_context_variables(mode: Mode) -> None:
    calls = [(sync_request_id, (), {}, None), (async_request_id, (), {}, 5.0)] * 2

    def start() -> Any:
        REQUEST_ID.set("req-42")
        return parallel_map(calls)

    # In a copy of the test's context, so that nothing leaks into other tests.
    assert contextvars.copy_context().run(mode.call, start) == ["req-42"] * 4


def test_parallel_iter_calls_see_the_callers_context_variables(mode: Mode) -> None:
    calls = [(sync_request_id, (), {}, None), (async_request_id, (), {}, None)]

    async def collect() -> list[Any]:
        REQUEST_ID.set("req-iter")
        return sorted([item async for item in parallel_iter(calls)])

    def collect_sync() -> list[Any]:
        REQUEST_ID.set("req-iter")
        return sorted(parallel_iter(calls))

    items = mode.call(collect) if mode.is_async else contextvars.copy_context().run(collect_sync)

    assert items == [(0, "req-iter"), (1, "req-iter")]
