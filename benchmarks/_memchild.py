"""One big batch in a fresh process: its time and the process's peak memory.

``python _memchild.py IMPL N LIMIT LOOP`` runs N mixed calls (even: a sync ``def``,
odd: an ``async def`` that yields once) with at most LIMIT in flight, on a LOOP
(``uvloop``/``asyncio``) event loop, and prints one JSON line: the elapsed ns, the
resident set size at start (after imports, before the batch is built) and the peak
(``VmHWM``: the high-water mark of this process's own address space). IMPL is
``parallel_map`` (``max_concurrency=LIMIT``) or ``gather`` (the hand-written floor:
``asyncio.gather`` over a ``Semaphore(LIMIT)``).

A process of its own, so that nothing measured before pollutes the peak.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
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


def f(x: int) -> int:
    return x


async def af(x: int) -> int:
    await asyncio.sleep(0)
    return x


async def by_parallel_map(calls: list[Any], limit: int) -> list[Any]:
    from synchronaut_batch import parallel_map

    return await parallel_map(calls, max_concurrency=limit)


async def by_gather(calls: list[Any], limit: int) -> list[Any]:
    loop = asyncio.get_running_loop()
    semaphore = asyncio.Semaphore(limit)

    async def one(func: Any, args: tuple[Any, ...]) -> Any:
        async with semaphore:
            if func is f:
                return await loop.run_in_executor(None, func, *args)
            return await func(*args)

    return await asyncio.gather(*[one(func, args) for func, args, _, _ in calls])


def main() -> None:
    impl, n, limit, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if kind == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:  # imported before the baseline, like the loop, whichever IMPL runs
        import synchronaut_batch  # noqa: F401
    except ImportError:
        if impl == "parallel_map":
            raise

    start = rss_kb()
    calls = [(f if i % 2 == 0 else af, (i,), {}, None) for i in range(n)]
    built = rss_kb()
    run = by_parallel_map if impl == "parallel_map" else by_gather
    t0 = time.perf_counter_ns()
    results = loop.run_until_complete(run(calls, limit))
    elapsed = time.perf_counter_ns() - t0
    if len(results) != n or results[-1] != n - 1:
        raise SystemExit(f"wrong results from {impl}")
    peak = peak_kb()
    loop.close()
    print(
        json.dumps(
            {"elapsed_ns": elapsed, "rss_start_kb": start, "rss_built_kb": built, "peak_kb": peak}
        )
    )


if __name__ == "__main__":
    main()
