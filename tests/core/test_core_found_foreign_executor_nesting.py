"""Nesting deeper than a foreign executor completes: its blocked worker runs its nested work.

Found by an adversarial review, and fixed; what it found:

Nesting deeper than a *foreign* executor deadlocks: only WorkerPool lends threads.

``await call_any(top)`` offloads ``top`` to the executor; ``top`` blocks in
``call_any(mid)`` (loop affinity: ``mid`` runs on the caller's loop); ``mid`` offloads
``leaf`` to the same executor. With one thread, ``leaf`` queues behind ``top``, which
waits for ``leaf``: a deadlock -- with ``set_default_executor(ThreadPoolExecutor(1))``,
with ``executor=ThreadPoolExecutor(1)``, and even with synchronaut's own
``ContextExecutor(WorkerPool(1))`` (README: "usable as ``executor=`` anywhere").

Why: the nested-work exemption lives in ``_job._submit`` only for
``type(executor) is WorkerPool``, and ``_state.pool`` (what a wait marks in
``_nested_in``) is set only by ``WorkerPool._work`` and Trio offloads. A worker of any
other executor that blocks marks nothing, and its nested work is submitted like any
other call. The README promises "No deadlock, nesting of any depth" without
restricting it to the default pool.

Expected: the nested call completes (e.g. a blocked worker of a foreign in-process
executor serves its own nested sync work from its inbox -- it is waiting anyway --
or that work runs on an overflow WorkerPool), or at least a clear error instead of
a hang.

Each scenario runs in a child interpreter: a deadlocked ThreadPoolExecutor worker
would otherwise hang the test process at exit (its workers are joined at exit).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

CHILD = """
import asyncio
from concurrent.futures import ThreadPoolExecutor
from synchronaut_core import CallOptions, WorkerPool, call_any, set_default_executor
from synchronaut_ctx import ContextExecutor

MAKE = {make}
DEFAULT = {default}
executor = MAKE()
if DEFAULT:
    set_default_executor(executor)
    opts = CallOptions()
else:
    opts = CallOptions(executor=executor)

def leaf():
    return 1

async def mid():
    return await opts(leaf) + 1

def top():
    return call_any(mid) + 1

async def main():
    return await opts(top)

print("result", asyncio.run(main()), flush=True)
import os
os._exit(0)
"""


def run_chain(make: str, default: bool, bound: float = 15) -> str:
    code = textwrap.dedent(CHILD.format(make=make, default=default))
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=bound,
            env=dict(os.environ),
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"nesting through {make} did not return within {bound}s: deadlock")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


@pytest.mark.parametrize(
    "make",
    [
        "lambda: ThreadPoolExecutor(1)",
        "lambda: ContextExecutor(WorkerPool(1))",
        "lambda: ContextExecutor(max_workers=1)",
    ],
    ids=["ThreadPoolExecutor(1)", "ContextExecutor(WorkerPool(1))", "ContextExecutor(1)"],
)
def test_nesting_through_an_explicit_executor_completes(make: str) -> None:
    assert run_chain(make, default=False) == "result 3"


def test_nesting_through_a_thread_pool_set_as_default_completes() -> None:
    assert run_chain("lambda: ThreadPoolExecutor(1)", default=True) == "result 3"


def test_control_the_same_chain_through_a_worker_pool_completes() -> None:
    assert run_chain("lambda: WorkerPool(1)", default=False) == "result 3"
