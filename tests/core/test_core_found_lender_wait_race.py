"""A blocked worker's wait ending while its nested work is offered: the offer runs once.

Checked in review of ac8d44c, which drops a lender's link to its wait when the wait
ends (``_Wait._leave``: ``lender.wait = None``) and has ``_job._submit`` read that link
once, coping with None. Nothing broke; this guards the race it opens. A worker of a
foreign executor (a ``ThreadPoolExecutor``) blocks in ``call_any(mid)``; ``mid``
starts a task that offloads nested work to the same executor and returns at once, so
the worker's wait ends around the moment the offer is made -- offered to the executor
and to the blocked worker (``_Offer``), or to the executor alone once the link is gone.
The executor's ``submit`` is slowed at random to widen the window (without it the
None branch was never reached in 4 000 rounds; with it, in about a third of them).
Every nested call must run exactly once and reach its task: never lost, never twice.

Runs in a child interpreter (``sys.setswitchinterval(1e-6)``; a lost offer would hang
the executor's workers at exit).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

CHILD = """
import asyncio, collections, os, random, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from synchronaut_core import CallOptions, _job, _waits, call_any

sys.setswitchinterval(1e-6)
ROUNDS, WORKERS = {rounds}, {workers}
stats = collections.Counter()
take = _waits._Wait._take_nested
def counting_take(self, offer):
    stats["offered to the wait"] += 1
    return take(self, offer)
_waits._Wait._take_nested = counting_take
init = _job._Offer.__init__
def counting_init(self, job):
    stats["offers"] += 1
    init(self, job)
_job._Offer.__init__ = counting_init

class SlowSubmit(ThreadPoolExecutor):
    def submit(self, fn, /, *args, **kwargs):
        future = super().submit(fn, *args, **kwargs)
        if random.random() < 0.7:
            time.sleep(random.random() * 2e-4)  # the worker's wait may end meanwhile
        return future

opts = CallOptions(executor=SlowSubmit(WORKERS))
runs = []
lock = threading.Lock()
pending = []

def leaf(i):
    with lock:
        runs.append(i)
    return i

async def nested(i, spins):
    for _ in range(spins):
        await asyncio.sleep(0)
    return await opts(leaf, i)

async def mid(i, spins):
    pending.append(asyncio.get_running_loop().create_task(nested(i, spins)))
    for _ in range(random.randrange(3)):
        await asyncio.sleep(0)
    return i

def top(i, spins):
    return call_any(mid, i, spins)  # a blocked worker of the executor: it lends

async def main():
    for r in range(ROUNDS):
        spins = random.randrange(4)
        ids = [r * 10 + k for k in range(WORKERS)]
        tops = asyncio.gather(*(opts(top, i, spins) for i in ids))
        assert await asyncio.wait_for(tops, 10) == ids
    return await asyncio.wait_for(asyncio.gather(*pending), 10)

got = asyncio.run(main())
assert sorted(got) == sorted(runs), "a nested call's result did not reach its task"
assert len(runs) == len(set(runs)) == ROUNDS * WORKERS, (len(runs), len(set(runs)))
print(stats["offers"], stats["offered to the wait"], flush=True)
os._exit(0)
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_nested_work_offered_as_the_blocked_worker_leaves_runs_once(workers: int) -> None:
    code = textwrap.dedent(CHILD.format(rounds=400, workers=workers))
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
        )
    except subprocess.TimeoutExpired:
        pytest.fail("an offer was lost: the nested calls did not all finish")
    assert proc.returncode == 0, proc.stderr[-3000:]
    offers, to_wait = map(int, proc.stdout.split())
    # The race was run: offers made with the wait still there, and after it left.
    assert offers > 0
    assert to_wait < offers, "the wait never ended before an offer was made: race not reached"
