"""Nested fan-outs stay within the pool's limit plus one slot per blocked worker.

Found by an adversarial review, and fixed; what it found:

Nested work fanning out bypasses the pool's limit without any bound.

The README: "Only such nested work passes the limit, so threads stay bounded by the
limit times the nesting depth -- a backlog of unrelated calls still waits its turn.
Under Trio, the same for Trio's thread limiter."

But *every* sync call submitted from a context marked ``_nested_in`` gets a thread at
once (``_pool.WorkerPool._run_job(job, nested=True)`` starts a worker whatever
``_active`` is; under Trio, ``_trio._limiter_for`` hands out an infinite
``CapacityLimiter``). A coroutine that a blocked worker waits for and that gathers
N offloads starts N threads: ``WorkerPool(2)`` runs 50 calls at once (51 threads),
depth 2. The mark also stays in every task such a coroutine spawns, for the task's
whole life, after the wait that justified it has ended.

Expected: a blocked worker lends its *one* slot (it stops counting against the limit
while it waits, as the issue asked: "a pool worker blocked in a nested call does not
count against the pool's limit"), so that concurrency stays <= max_workers x depth.
"""

from __future__ import annotations

import asyncio
import threading
import time

from support_threads import in_thread

from synchronaut_core import CallOptions, WorkerPool, call_any

FAN = 50
LIMIT = 2
DEPTH = 2  # a blocked worker, and the work it waits for


class Gauge:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def leaf(self) -> int:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(0.05)
        with self.lock:
            self.now -= 1
        return 1


def test_a_fan_out_below_a_blocked_worker_stays_within_the_limit_times_the_depth() -> None:
    pool = WorkerPool(LIMIT)
    opts = CallOptions(executor=pool)
    gauge = Gauge()

    async def fan() -> int:
        return sum(await asyncio.gather(*[opts(gauge.leaf) for _ in range(FAN)]))

    def outer() -> int:
        return call_any(fan)  # blocks a worker of ``pool``: ``fan`` is nested work

    async def main() -> int:
        return await opts(outer)

    assert in_thread(lambda: asyncio.run(main())) == FAN
    workers = pool._snapshot().workers
    pool.shutdown(wait=False)
    assert gauge.peak <= LIMIT * DEPTH, (
        f"WorkerPool({LIMIT}) ran {gauge.peak} calls at once ({workers} workers) for "
        f"nested work {DEPTH} deep"
    )


def test_under_trio_a_fan_out_below_a_blocked_worker_respects_the_thread_limiter() -> None:
    import trio

    gauge = Gauge()

    async def fan() -> int:
        values: list[int] = []

        async def one() -> None:
            values.append(await call_any(gauge.leaf))

        async with trio.open_nursery() as nursery:
            for _ in range(FAN):
                nursery.start_soon(one)
        return sum(values)

    def outer() -> int:
        return call_any(fan)

    async def main() -> int:
        trio.to_thread.current_default_thread_limiter().total_tokens = LIMIT
        return await call_any(outer)

    assert in_thread(lambda: trio.run(main)) == FAN
    assert gauge.peak <= LIMIT * DEPTH, (
        f"a thread limiter of {LIMIT} tokens ran {gauge.peak} calls at once for nested "
        f"work {DEPTH} deep"
    )
