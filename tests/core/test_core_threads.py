"""Many threads calling in at once: every result right, no cross-talk."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

from synchronaut_core import call_any

tag: contextvars.ContextVar[int] = contextvars.ContextVar("tag")


def sync_echo(i: int) -> tuple[int, int]:
    return i, tag.get()


async def async_echo(i: int) -> tuple[int, int]:
    await asyncio.sleep(0)
    return i, tag.get()


def test_16_threads_x_200_mixed_calls() -> None:
    barrier = threading.Barrier(16)

    def worker(t: int) -> list[bool]:
        tag.set(t)
        barrier.wait()
        checks = []
        for i in range(200):
            kind = i % 3
            if kind == 0:
                got = call_any(sync_echo, i)
            elif kind == 1:
                got = call_any(async_echo, i)
            else:
                got = call_any(sync_echo, i, timeout=10)
            checks.append(got == (i, t))
        return checks

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(worker, range(16)))
    assert all(all(checks) for checks in results)
    assert sum(len(checks) for checks in results) == 16 * 200


def test_concurrent_offloads_from_one_loop(backend) -> None:
    import time

    def sleepy(i: int) -> int:
        time.sleep(0.05)
        return i

    async def main() -> list[int]:
        results: list[int] = [0] * 20

        async def one(i: int) -> None:
            results[i] = await call_any(sleepy, i)

        if backend.name == "trio":
            import trio

            async with trio.open_nursery() as nursery:
                for i in range(20):
                    nursery.start_soon(one, i)
        else:
            await asyncio.gather(*(one(i) for i in range(20)))
        return results

    started = time.monotonic()
    assert backend.run(main) == list(range(20))
    assert time.monotonic() - started < 0.9  # 20 x 50 ms ran concurrently
