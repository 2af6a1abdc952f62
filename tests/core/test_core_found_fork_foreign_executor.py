"""In a forked child, a wait on a foreign executor's (dead) thread fails instead of hanging.

Found by an adversarial review, and fixed; what it found:

In a forked child, a wait on a *foreign* executor's thread never ends.

Guarantee: "calls that only the parent's threads could finish fail in the child
instead of waiting forever". ``WorkerPool`` and dedicated threads fail their orphans
in ``_after_fork_in_child``; a ``ThreadPoolExecutor`` (``executor=``, or
``set_default_executor``) has nobody to do so, and ``_JobWait`` has no liveness check
of its own (``_JobWait._check`` only looks at the deadline and the caller): the
child waits forever for a job whose thread did not survive the fork.

How a thread forks while in a ``_JobWait``: it serves thread-sensitive calls while it
waits (``_park``); one of them forks. Here the main thread waits in ``call_sync(A)``;
``A`` makes a thread-sensitive call ``S`` (served by the main thread), which offloads
``slow`` to a ``ThreadPoolExecutor`` and waits; meanwhile another task's
thread-sensitive call, served by the same waiting thread, calls ``os.fork()``.

Expected: the child's wait sees that the process forked since the job was handed
over (``_fork._epoch``) and that the job is not running on this thread, and raises
``RuntimeError`` -- as it does with a ``WorkerPool`` (the control case).
"""

from __future__ import annotations

import pytest
from support_process import run_python

CHILD = """
import asyncio, json, os, signal, time
from concurrent.futures import ThreadPoolExecutor
from synchronaut_core import CallOptions, WorkerPool, call_any, call_sync

executor = {make}
executor.submit(int).result()
forked = []

def slow():
    time.sleep(1.0)
    return "slow done"

def forker():
    pid = os.fork()
    forked.append(pid)
    return pid

def S():
    return CallOptions(executor=executor, force_offload=True)(slow)

async def later():
    await asyncio.sleep(0.2)
    await call_any(forker, thread_sensitive=True)

async def A():
    task = asyncio.get_running_loop().create_task(later())
    value = await call_any(S, thread_sensitive=True)
    await task
    return value

try:
    call_sync(A)
except BaseException:
    pass
if forked == [0]:
    os._exit(0)  # the child: done, whatever the call said
child = forked[0]
exited = False
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    pid, _ = os.waitpid(child, os.WNOHANG)
    if pid:
        exited = True
        break
    time.sleep(0.05)
if not exited:
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
print(json.dumps({{"child_exited": exited}}), flush=True)
os._exit(0)
"""


@pytest.mark.parametrize(
    "make",
    ["ThreadPoolExecutor(2)", "WorkerPool(2)"],
    ids=["ThreadPoolExecutor", "WorkerPool (control)"],
)
def test_a_forked_child_never_waits_forever_on_a_dead_executor_thread(make: str) -> None:
    proc = run_python(CHILD.format(make=make), timeout=60)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, proc.stderr[-3000:]
    assert '"child_exited": true' in lines[-1], (
        "the forked child was still waiting after 10 s for a call only a parent's "
        "thread could finish (killed)"
    )
