"""Nested work needing two threads at once completes on a full pool (a lent slot is passed on).

Found by an adversarial review, and fixed; what it found:

Nested work needing two threads at once deadlocks once the pool is full (since 3de6b88).

3de6b88 bounds nested work: a blocked worker *lends its one slot* to the work it
waits for, and when the pool is full that work's sync calls run on the lent slot one
at a time (``_pool.WorkerPool._run_job``: a busy lender queues the call in
``lender.queued``). If the occupant of the lent slot blocks waiting for a *sibling*
call -- a consumer waiting (through async code, loop affinity) for a producer, both
offloaded by the same nested coroutine -- the sibling queues behind it for good: the
occupant lends its own slot only to work nested under *it*, and the pool's ordinary
slots are held by the blocked views. ``WorkerPool(6)`` with 6 such views hangs
forever; at 7a7345a (nested work always got a thread) it completed.

The occupant of a lent slot that blocks is "a worker blocked in a nested call": by
the library's own rule it should not count against anything while it waits. If a
blocked worker released the slot it holds (ordinary or lent) for the time of its
wait, the sibling would run, threads would stay within max_workers plus one per
blocked worker, and the unrelated-call case of
``test_nested_fan_out_ignores_the_pool_limit`` would be fixed too.
"""

from __future__ import annotations

import subprocess

import pytest
from support_process import run_python

CHILD = """
import asyncio, os
from synchronaut_core import CallOptions, WorkerPool, call_any

pool = WorkerPool({workers})
opts = CallOptions(executor=pool)

async def main():
    queue = asyncio.Queue()

    def consumer():
        return call_any(queue.get)  # waits, on this app's loop, for the producer

    def producer():
        call_any(queue.put, 42)
        return "put"

    async def handler():
        return await asyncio.gather(opts(consumer), opts(producer))

    def view():  # a sync view calling async code: blocks a worker
        return call_any(handler)

    return await asyncio.gather(*[opts(view) for _ in range({views})])

print(asyncio.run(main()), flush=True)
os._exit(0)
"""


@pytest.mark.parametrize(("workers", "views"), [(1, 1), (6, 6)])
def test_a_nested_producer_consumer_pair_completes_when_the_pool_is_full(
    workers: int, views: int
) -> None:
    try:
        proc = run_python(CHILD.format(workers=workers, views=views), timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"WorkerPool({workers}) with {views} views: deadlock (no result in 20 s)")
    assert proc.stdout.strip() == str([[42, "put"]] * views), proc.stderr[-2000:]
