"""Many event loops at once: 50 loops in 50 threads, uvloop and Trio side by side."""

from __future__ import annotations

import asyncio
import threading
import time

import trio
import uvloop
from support_backends import Backend

from synchronaut import call_any, current_async_library, parallel_map, synchronaut


def sync_square(x: int) -> tuple[int, str]:
    return x * x, threading.current_thread().name


async def async_square(x: int) -> int:
    if current_async_library() == "trio":
        await trio.lowlevel.checkpoint()
    else:
        await asyncio.sleep(0)
    return x * x


@synchronaut
def decorated_double(x: int) -> int:
    return 2 * x


def one_loop(kind: str, index: int, calls: int) -> list[bool]:
    """Run a mixed workload inside one event loop of ``kind`` and check every result."""

    async def main() -> list[bool]:
        checks: list[bool] = []
        for i in range(calls):
            x = index * 1000 + i
            value, thread = await call_any(sync_square, x)
            checks.append(value == x * x and thread != threading.current_thread().name)
            checks.append(await call_any(async_square, x) == x * x)
            checks.append(await decorated_double(x) == 2 * x)
        batch = await parallel_map([(async_square, (j,), {}, None) for j in range(10)])
        checks.append(batch == [j * j for j in range(10)])
        return checks

    return Backend(kind).run(main)


def run_threads(kinds: list[str], calls: int) -> list[list[bool]]:
    results: list[list[bool] | BaseException] = [[] for _ in kinds]
    barrier = threading.Barrier(len(kinds))

    def worker(slot: int, kind: str) -> None:
        barrier.wait()
        try:
            results[slot] = one_loop(kind, slot, calls)
        except BaseException as exc:
            results[slot] = exc

    threads = [
        threading.Thread(target=worker, args=(slot, kind)) for slot, kind in enumerate(kinds)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a loop thread hung"
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def test_50_independent_asyncio_loops_in_50_threads_at_once(scale) -> None:
    started = time.monotonic()
    results = run_threads(["asyncio"] * 50, scale(5, 50))
    assert all(all(checks) for checks in results)
    assert sum(len(checks) for checks in results) == 50 * (3 * scale(5, 50) + 1)
    assert time.monotonic() - started < 120


def test_uvloop_asyncio_and_trio_loops_side_by_side(scale) -> None:
    assert uvloop is not None
    kinds = ["uvloop", "asyncio", "trio"] * 6
    results = run_threads(kinds, scale(10, 100))
    assert all(all(checks) for checks in results)
    assert call_any(sync_square, 3)[0] == 9  # sync code still fine afterwards
