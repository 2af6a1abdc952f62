"""Load: a million mixed calls across threads and tasks, every result right, nothing kept.

Every quadrant is exercised at once -- plain sync threads calling sync and async code
(direct, offloaded, on the background loop, decorated), asyncio, uvloop and Trio
threads whose tasks call sync code (offloaded, and back on their own loop through
loop affinity) and async code -- from 16 threads, 1 000 tasks in flight. Each call's
id is ticked off in a preallocated table: a missing or duplicated result, or a wrong
one, is found. Memory (tracemalloc) and the thread count are taken when 10% of the
calls are done and again at the end, everything quiescent both times.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import tracemalloc
from collections.abc import Iterable

import trio
from support_backends import Backend

from synchronaut import call_any, current_async_library, get_default_executor, synchronaut

SYNC_THREADS = 6
ASYNC_THREADS = 10  # asyncio, uvloop and Trio, in turn
TASKS_PER_THREAD = 100  # 1 000 tasks in flight
#: Bytes the last 90% of the calls may leave allocated: caches and free lists settle,
#: nothing grows with the number of calls.
LIMIT = 512 * 1024
LOOP_KINDS = ["asyncio", "uvloop", "trio"]
#: Trio's default limit on the threads one run uses for ``trio.to_thread``.
TRIO_THREADS_PER_RUN = 40


def expected(i: int) -> int:
    return 3 * i + 1


def sync_calc(i: int) -> int:
    return 3 * i + 1


async def async_calc(i: int) -> int:
    return 3 * i + 1


async def async_calc_yielding(i: int) -> int:
    # Suspends once, on whichever library runs it, so calls really interleave.
    if current_async_library() == "trio":
        await trio.lowlevel.checkpoint()
    else:
        await asyncio.sleep(0)
    return 3 * i + 1


def sync_calling_back(i: int) -> int:
    # Offloaded from a loop: call_any(async) here goes back to that loop (affinity).
    return call_any(async_calc_yielding, i)


@synchronaut
async def decorated_async(i: int) -> int:
    return 3 * i + 1


@synchronaut(timeout=60)
def decorated_sync(i: int) -> int:
    return 3 * i + 1


def sync_quadrant(i: int) -> int:
    """One call from a plain sync thread, its kind chosen by ``i``."""
    kind = i % 5
    if kind == 0:
        return call_any(sync_calc, i)  # sync -> def: a direct call
    if kind == 1:
        return call_any(async_calc_yielding, i)  # sync -> async def: the background loop
    if kind == 2:
        return call_any(sync_calc, i, timeout=60)  # sync -> def in the pool, waited for
    if kind == 3:
        return decorated_async(i)  # decorated async def from sync code
    return decorated_sync(i)  # decorated def with a timeout: offloaded


async def async_quadrant(i: int) -> int:
    """One call from a task (asyncio, uvloop or Trio), its kind chosen by ``i``."""
    kind = i % 5
    if kind == 0:
        return await call_any(async_calc_yielding, i)  # async -> async def, same task
    if kind == 1:
        return await call_any(sync_calc, i)  # async -> def: offloaded
    if kind == 2:
        return await call_any(sync_calling_back, i)  # offloaded, back on this loop
    if kind == 3:
        return await call_any(async_calc, i, timeout=60)  # async def under a timeout
    return await decorated_sync.async_(i)


class Ledger:
    """Which ids came back, how often, and the wrong ones; allocated before measuring."""

    def __init__(self, total: int) -> None:
        self.seen = bytearray(total)
        self.wrong: list[tuple[int, object]] = []

    def tick(self, i: int, result: object) -> None:
        # One thread per id, and bytearray item updates are atomic under the GIL.
        if result != expected(i):
            self.wrong.append((i, result))
        if self.seen[i] < 255:
            self.seen[i] += 1


def synchronaut_threads() -> int:
    return sum(thread.name.startswith("synchronaut") for thread in threading.enumerate())


def split(ids: range) -> tuple[range, range]:
    """The first 10% of a unit's ids, and the rest."""
    cut = len(ids) // 10
    return ids[:cut], ids[cut:]


def test_mixed_calls_from_16_threads_and_1000_tasks_all_correct_memory_and_threads_flat(
    scale,
) -> None:
    total = scale(24_000, 1_000_000)
    units = SYNC_THREADS + ASYNC_THREADS * TASKS_PER_THREAD
    ledger = Ledger(total)
    # Threads meet here after their first 10%, and at the end, for the measurements.
    at_ten_percent = threading.Barrier(SYNC_THREADS + ASYNC_THREADS + 1)
    at_end = threading.Barrier(SYNC_THREADS + ASYNC_THREADS + 1)
    resume = threading.Barrier(SYNC_THREADS + ASYNC_THREADS + 1)
    failures: list[BaseException] = []

    def unit_ids(unit: int) -> range:
        return range(unit, total, units)

    def sync_thread(unit: int) -> None:
        try:
            for phase, ids in enumerate(split(unit_ids(unit))):
                for i in ids:
                    ledger.tick(i, sync_quadrant(i))
                meet(phase == 0)
        except BaseException as exc:
            failures.append(exc)
            raise

    def meet(first: bool) -> None:
        # Both meetings wait for the main thread to measure, then go on.
        (at_ten_percent if first else at_end).wait(600)
        resume.wait(600)

    def async_thread(index: int) -> None:
        kind = LOOP_KINDS[index % len(LOOP_KINDS)]
        base = SYNC_THREADS + index * TASKS_PER_THREAD
        phases = [split(unit_ids(base + task)) for task in range(TASKS_PER_THREAD)]

        async def one_task(ids: Iterable[int]) -> None:
            for i in ids:
                ledger.tick(i, await async_quadrant(i))

        async def main(phase: int) -> None:
            if kind == "trio":
                async with trio.open_nursery() as nursery:
                    for task_phases in phases:
                        nursery.start_soon(one_task, task_phases[phase])
            else:
                await asyncio.gather(*(one_task(p[phase]) for p in phases))

        try:
            for phase in (0, 1):
                # One loop per phase, closed before the measurement: what it held
                # (its tasks, its coroutines) is gone, what synchronaut kept is not.
                Backend(kind).run(main, phase)
                meet(phase == 0)
        except BaseException as exc:
            failures.append(exc)
            raise

    threads = [
        threading.Thread(target=sync_thread, args=(unit,), name=f"load-sync-{unit}")
        for unit in range(SYNC_THREADS)
    ] + [
        threading.Thread(target=async_thread, args=(index,), name=f"load-loop-{index}")
        for index in range(ASYNC_THREADS)
    ]
    for thread in threads:
        thread.start()

    at_ten_percent.wait(600)
    gc.collect()
    ours_at_ten_percent = synchronaut_threads()
    tracemalloc.start()
    try:
        resume.wait(600)
        at_end.wait(600)
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0]
        top = tracemalloc.take_snapshot().statistics("lineno")[:8] if growth > LIMIT else []
        ours_at_end = synchronaut_threads()
        threads_at_end = threading.active_count()
    finally:
        tracemalloc.stop()
        resume.wait(600)
        for thread in threads:
            thread.join(600)

    assert not failures, failures[:3]
    assert ledger.wrong == [], ledger.wrong[:10]
    missing = [i for i, count in enumerate(ledger.seen) if count == 0]
    doubled = [i for i, count in enumerate(ledger.seen) if count > 1]
    assert missing == [], f"{len(missing)} results missing, e.g. {missing[:10]}"
    assert doubled == [], f"{len(doubled)} results duplicated, e.g. {doubled[:10]}"
    # Flat: what the last 90% of the calls left allocated is a constant, not a
    # figure that grows with the number of calls (a leak of even 1 byte per call
    # would show at the long run's 900 000 calls).
    assert growth < LIMIT, (growth, [str(stat) for stat in top])
    # synchronaut's threads (the background loop, the pool) reached their number in
    # the first 10% and kept it; Trio's thread cache, which Trio runs for its own
    # offloads, stays within Trio's limit (40 threads in use per run).
    assert ours_at_end <= ours_at_ten_percent, (ours_at_ten_percent, ours_at_end)
    trio_runs = len([i for i in range(ASYNC_THREADS) if LOOP_KINDS[i % 3] == "trio"])
    bound = (
        1  # the main thread
        + SYNC_THREADS
        + ASYNC_THREADS
        + 1  # synchronaut-loop
        + get_default_executor().max_workers
        + TRIO_THREADS_PER_RUN * trio_runs
    )
    assert threads_at_end <= bound, (threads_at_end, bound)
