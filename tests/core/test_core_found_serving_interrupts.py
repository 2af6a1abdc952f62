"""A Ctrl-C while a waiting thread serves thread-sensitive calls never loses one.

Found by an adversarial review, and fixed; what it found:

A Ctrl-C that lands while a waiting sync thread serves thread-sensitive calls loses them.

A sync thread blocked in ``call_any(coro)`` runs, from its inbox, the thread-sensitive
calls made below ``coro`` -- also those of tasks ``coro`` started and that the Ctrl-C
does not cancel (a detached task, an ``asyncio.shield``-ed call). When the interrupt
lands between the inbox handing a job over and the job reaching its caller (right
after ``SimpleQueue.get`` returned it in ``_Wait._park``; at the entry of
``_Job.run``; after its ``finally``, before ``notify``), the job is neither run nor
failed nor re-routed: the task awaiting it waits forever.

Expected: an interrupted waiter hands the jobs it took and did not finish to the
process-wide thread-sensitive thread (as ``_drain`` does), or fails them; the
awaiting task never hangs.

Each scenario runs in a child interpreter (its main thread is the one interrupted),
bounded by a timeout.
"""

from __future__ import annotations

import json
import os

from support_process import run_python

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_child(code: str, timeout: float = 60) -> dict:
    proc = run_python(code, timeout=timeout, cwd=HERE, env={**os.environ, "PYTHONPATH": HERE})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"child printed no result (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1])


SWEEP = """
import asyncio, json, threading
import support_faults
from synchronaut_core import _asyncio, _job, _waits, call_any

lost = []
points = 0
tasks = set()

def sensitive():
    return 7

async def detached(done):
    try:
        await call_any(sensitive, thread_sensitive=True)
    except BaseException:
        pass
    finally:
        done.set()

async def coro(started, done):
    task = asyncio.get_running_loop().create_task(detached(done))
    tasks.add(task)
    started.set()
    await asyncio.sleep(0.05)  # this thread serves the detached task's call meanwhile
    return 1

call_any(coro, threading.Event(), threading.Event())  # warm up
n = 0
while True:
    started, done = threading.Event(), threading.Event()
    injector = support_faults.Injector(
        [_job._Job, _waits._Wait, _asyncio._offload], n  # _offload: its notify lambda
    )
    try:
        with injector:
            call_any(coro, started, done)
    except KeyboardInterrupt:
        pass
    if not injector.fired:
        break
    points += 1
    if started.is_set() and not done.wait(3):
        lost.append(injector.where)
    n += 1
print(json.dumps({"points": points, "lost": lost}))
"""


def test_a_detached_tasks_thread_sensitive_call_survives_a_ctrl_c_on_the_serving_thread() -> None:
    """Ctrl-C at each interrupt point of ``_Wait``, ``_Job`` and the asyncio ``notify``
    callback (the lambda made in ``_asyncio._offload``) in turn, while
    the waiting thread serves a detached task's thread-sensitive call: that call must
    still complete (or fail) -- never leave its task waiting forever."""
    result = run_child(SWEEP, timeout=110)
    assert result["points"] > 0
    assert result["lost"] == [], (
        f"a Ctrl-C at these points lost the thread-sensitive job (its task hangs): {result['lost']}"
    )


LEAVING = """
import asyncio, json, sys, threading
import support_faults
from synchronaut_core import _asyncio, _job, _waits, call_any
from synchronaut_core._thread_state import _state

sys.setswitchinterval(1e-6)
tasks = set()

def sensitive():
    return 7

async def detached(done):
    await asyncio.sleep(0)  # its call reaches the inbox just as the wait ends
    try:
        await call_any(sensitive, thread_sensitive=True)
    finally:
        done.set()

async def coro(started, done):
    task = asyncio.get_running_loop().create_task(detached(done))
    tasks.add(task)
    started.set()
    return 1

call_any(coro, threading.Event(), threading.Event())  # warm up
lost = []
for _ in range(3):
    n = 0
    while True:
        started, done = threading.Event(), threading.Event()
        injector = support_faults.Injector([_waits, _job._Job, _asyncio._offload], n)
        try:
            with injector:
                call_any(coro, started, done)
        except KeyboardInterrupt:
            pass
        if not injector.fired:
            break
        if started.is_set() and not done.wait(2):
            lost.append(injector.where)
            while _state.inbox.jobs:  # tidy up for the next run
                _state.inbox.jobs.popleft().run()
        n += 1
print(json.dumps({"lost": sorted(set(lost))}))
"""


def test_a_thread_sensitive_call_sent_as_the_wait_ends_survives_a_ctrl_c_there() -> None:
    """The job reached the inbox just before the window closed: ``_leave`` hands it
    to the process-wide thread (``_drain``). A Ctrl-C at the entry of ``_leave``, or
    inside ``_drain`` after it popped the job, strands it (left in the inbox of a
    thread that no longer waits) or drops it."""
    result = run_child(LEAVING, timeout=110)
    assert result["lost"] == [], (
        f"a Ctrl-C at these points stranded or dropped the job: {result['lost']}"
    )


REAL_SIGNALS = """
import asyncio, json, random, signal, threading, time
from synchronaut_core import call_any, call_sync
random.seed(1)
lock = threading.Lock()
sent = done = 0

def sensitive(n):
    return sum(range(n))

async def detached():
    global sent, done
    for _ in range(10):
        with lock:
            sent += 1
        try:
            await call_any(sensitive, 2000, thread_sensitive=True)
        except BaseException:
            pass
        with lock:
            done += 1

tasks = set()

async def coro():
    task = asyncio.get_running_loop().create_task(detached())
    tasks.add(task)
    for _ in range(10):
        await call_any(sensitive, 3000, thread_sensitive=True)
    return 1

def handler(signum, frame):
    raise KeyboardInterrupt

# One call before the storm: the first blocking call imports synchronaut's machinery
# and starts the background loop, which under load can take much of the 5 s below.
call_sync(coro)
signal.signal(signal.SIGALRM, handler)
end = time.monotonic() + 5
while time.monotonic() < end:
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, random.uniform(0.0001, 0.01))
            call_sync(coro)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except KeyboardInterrupt:
        pass
deadline = time.monotonic() + 10
while time.monotonic() < deadline and done < sent:
    time.sleep(0.05)
print(json.dumps({"sent": sent, "done": done}))
"""


def test_real_ctrl_c_never_strands_thread_sensitive_calls_of_detached_tasks() -> None:
    result = run_child(REAL_SIGNALS, timeout=90)
    assert result["sent"] > 0
    assert result["done"] == result["sent"], (
        f"{result['sent'] - result['done']} thread-sensitive calls of detached tasks "
        f"never came back after Ctrl-Cs on the serving thread: {result}"
    )
