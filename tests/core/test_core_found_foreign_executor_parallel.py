"""Nested work through a roomy foreign executor runs in parallel on its threads.

Found by an adversarial review, and fixed; what it found:

Nested work through a roomy foreign executor runs one call at a time on one thread.

(Found in the *uncommitted* working tree that lends blocked workers of foreign
executors to their nested work: ``_job._submit`` hands every sync call nested under
a blocked ``ThreadPoolExecutor`` worker to that worker's inbox (``_take_nested``),
even when the executor has idle threads.)

``ThreadPoolExecutor(16)``: ``outer`` (on a worker) blocks in ``call_any(fan)``;
``fan`` gathers 8 offloads of a 0.2 s call to the same executor. 15 threads are
free, yet all 8 run one after another on ``outer``'s thread: 1.6 s instead of 0.2 s.
The same gather not nested takes 0.2 s.

Expected: the blocked worker serves its nested work only when the executor cannot
start it (or after a short grace), else the executor runs it as usual.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from support_threads import in_thread

from synchronaut_core import CallOptions, call_any


def test_nested_fan_out_through_a_roomy_thread_pool_runs_in_parallel() -> None:
    executor = ThreadPoolExecutor(16)
    opts = CallOptions(executor=executor)

    def leaf() -> int:
        time.sleep(0.2)
        return 1

    async def fan() -> int:
        return sum(await asyncio.gather(*[opts(leaf) for _ in range(8)]))

    def outer() -> int:
        return call_any(fan)

    async def main() -> tuple[int, float]:
        started = time.monotonic()
        value = await opts(outer)
        return value, time.monotonic() - started

    try:
        value, took = in_thread(lambda: asyncio.run(main()))
    finally:
        executor.shutdown(wait=False)
    assert value == 8
    assert took < 0.8, f"8 nested 0.2 s calls with 15 idle threads took {took:.2f}s"
