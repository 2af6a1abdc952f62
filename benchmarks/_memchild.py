"""One big batch in a fresh process: its time and the process's peak memory.

``python _memchild.py IMPL N LIMIT LOOP [INPUT]`` runs N mixed calls (even: a sync
``def``, odd: an ``async def`` that yields once) with at most LIMIT in flight (0: no
limit), on a LOOP (``uvloop``/``asyncio``) event loop, and prints one JSON line: the
elapsed ns, the CPU time of all its threads, the resident set size at start (after
imports, before the input is built), after the input is built, and the peak
(``VmHWM``: the high-water mark of this process's own address space). IMPL is
``parallel_map`` (``max_concurrency=LIMIT``), ``gather`` (the hand-written floor:
``asyncio.gather``, over a ``Semaphore(LIMIT)`` when bounded, sync calls through
``run_in_executor``) or ``anyio`` (a task group, calls under a
``CapacityLimiter(LIMIT)`` when bounded, sync calls through
``anyio.to_thread.run_sync``). INPUT is ``list`` (the default: the calls built into a
list first) or ``iter`` (``parallel_map`` only: a generator producing the 4-tuples as
they are read, so the input is never in memory at once).
A batch of 256 calls runs first (pool threads started, first-use costs paid); the
JSON also gives the time the cyclic garbage collector ran during the batch, in all
and by generation, and its collections by generation.

A process of its own, so that nothing measured before pollutes the peak.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_kb() -> int:
    """The resident set size now."""
    value = _status_kb("VmRSS:")
    return value if value is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_kb() -> int:
    """The peak resident set size of this process.

    Not ``ru_maxrss`` where ``/proc`` has ``VmHWM``: on Linux ``ru_maxrss`` survives
    ``execve``, so a child started by a big parent (the benchmark runner, 100+ MB)
    would report the parent's size as its own peak.
    """
    value = _status_kb("VmHWM:")
    return value if value is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


WARMUP = 256  # calls of the warm-up batch


def f(x: int) -> int:
    return x


async def af(x: int) -> int:
    await asyncio.sleep(0)
    return x


async def by_parallel_map(calls: Iterable[Any], limit: int) -> list[Any]:
    from synchronaut_batch import parallel_map

    return await parallel_map(calls, max_concurrency=limit or None)


async def by_gather(calls: Iterable[Any], limit: int) -> list[Any]:
    loop = asyncio.get_running_loop()
    if not limit:
        return await asyncio.gather(
            *[
                loop.run_in_executor(None, func, *args) if func is f else func(*args)
                for func, args, _, _ in calls
            ]
        )
    semaphore = asyncio.Semaphore(limit)

    async def one(func: Any, args: tuple[Any, ...]) -> Any:
        async with semaphore:
            if func is f:
                return await loop.run_in_executor(None, func, *args)
            return await func(*args)

    return await asyncio.gather(*[one(func, args) for func, args, _, _ in calls])


async def by_anyio(calls: Iterable[Any], limit: int) -> list[Any]:
    import anyio
    import anyio.to_thread

    results: list[Any] = []
    limiter = anyio.CapacityLimiter(limit) if limit else None

    async def call(func: Any, args: tuple[Any, ...]) -> Any:
        if func is f:
            return await anyio.to_thread.run_sync(func, *args)
        return await func(*args)

    async def one(i: int, func: Any, args: tuple[Any, ...]) -> None:
        if limiter is None:
            results[i] = await call(func, args)
        else:
            async with limiter:
                results[i] = await call(func, args)

    async with anyio.create_task_group() as group:
        for i, (func, args, _, _) in enumerate(calls):
            results.append(None)
            group.start_soon(one, i, func, args)
    return results


def generate(n: int) -> Iterator[tuple[Any, tuple[int], dict[str, Any], None]]:
    for i in range(n):
        yield (f if i % 2 == 0 else af, (i,), {}, None)


def main() -> None:
    impl, n, limit, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    source = sys.argv[5] if len(sys.argv) > 5 else "list"
    if kind == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    # Imported before the baseline, like the loop: the batch's library is not counted.
    if impl == "parallel_map":
        import synchronaut_batch  # noqa: F401
    elif impl == "anyio":
        import anyio.to_thread  # noqa: F401
    if source == "iter" and impl != "parallel_map":
        raise SystemExit("an iterator input is parallel_map's only")
    run = {"parallel_map": by_parallel_map, "gather": by_gather, "anyio": by_anyio}[impl]
    # A small batch first, outside the figures: the thread pool's workers exist and
    # first-use costs are paid, as in a process that has run batches before.
    loop.run_until_complete(run(generate(WARMUP), limit))

    start = rss_kb()
    calls: Iterable[Any]
    if source == "iter":
        calls = generate(n)
    else:
        calls = [(f if i % 2 == 0 else af, (i,), {}, None) for i in range(n)]
    built = rss_kb()
    collector = _Collector()
    gc.callbacks.append(collector)
    t0, cpu0 = time.perf_counter_ns(), time.process_time_ns()
    results = loop.run_until_complete(run(calls, limit))
    elapsed = time.perf_counter_ns() - t0
    cpu = time.process_time_ns() - cpu0  # every thread's: less sensitive to a loaded machine
    gc.callbacks.remove(collector)
    if len(results) != n or results[-1] != n - 1:
        raise SystemExit(f"wrong results from {impl}")
    peak = peak_kb()
    loop.close()
    out = {"elapsed_ns": elapsed, "cpu_ns": cpu, "rss_start_kb": start, "rss_built_kb": built}
    out |= {"peak_kb": peak}
    out |= {"gc_ns": collector.spent, "gc_collections": collector.collections}
    out |= {"gc_ns_by_generation": collector.spent_by}
    print(json.dumps(out))


class _Collector:
    """A ``gc.callbacks`` entry: the time the cyclic garbage collector runs."""

    def __init__(self) -> None:
        self.spent = 0
        self.collections = [0, 0, 0]  # by generation
        self.spent_by = [0, 0, 0]  # ns, by generation
        self._t0 = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.collections[info["generation"]] += 1
            self._t0 = time.perf_counter_ns()
        else:
            spent = time.perf_counter_ns() - self._t0
            self.spent += spent
            self.spent_by[info["generation"]] += spent


if __name__ == "__main__":
    main()
