"""``os.fork()`` in the middle of use: the child gets a working bridge, the parent too.

A child process is forked again and again while other threads of the parent are in
the middle of calls (on the background loop, in the pool, inside asyncio and Trio
loops), and from inside offloaded calls themselves (multiprocessing's fork start
method does that). Each child makes calls of every kind on a fresh background loop
and pool and exits cleanly; the parent's calls never notice.
"""

from __future__ import annotations

import os

import pytest
from stress_helpers import run_child

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

CHILD = """
import asyncio, os, sys, threading, time, traceback, warnings
# Python 3.12+ warns that fork() in a process with threads may deadlock: this test
# forks such a process on purpose.
warnings.filterwarnings("ignore", category=DeprecationWarning)
import trio
from synchronaut import (
    call_any, current_async_library, parallel_map, sync_iter, thread_sensitive_context,
)

forks = int(sys.argv[1])
stop = threading.Event()
errors = []

async def aval(i):
    if current_async_library() == "trio":
        await trio.lowlevel.checkpoint()
    else:
        await asyncio.sleep(0)
    return i

def sval(i):
    return i

async def back_on_my_loop(i):
    return i

def sync_calling_back(i):
    return call_any(back_on_my_loop, i)  # loop affinity: the loop that offloaded us

async def agen():
    for i in range(3):
        await asyncio.sleep(0)
        yield i

def hammer():  # a sync thread, always in the middle of a call
    i = 0
    while not stop.is_set():
        i += 1
        try:
            assert call_any(aval, i) == i
            assert call_any(sval, i, timeout=10) == i
        except BaseException as exc:
            errors.append(exc)
            return

def loop_hammer(run):  # an event loop whose tasks are always offloading
    async def main():
        i = 0
        while not stop.is_set():
            i += 1
            assert await call_any(sval, i) == i
            assert await call_any(sync_calling_back, i) == i
    try:
        run(main)
    except BaseException as exc:
        errors.append(exc)

async def everything(tag):
    assert await call_any(sval, tag) == tag
    assert await call_any(sync_calling_back, tag) == tag
    assert await call_any(aval, tag, timeout=5) == tag
    assert await parallel_map([(aval, (1,), {}, None), (sval, (2,), {}, None)]) == [1, 2]
    async with thread_sensitive_context():
        assert await call_any(sval, tag, thread_sensitive=True) == tag

def child_work(tag, with_trio):
    # In the child: a fresh background loop and pool, every quadrant.
    assert call_any(aval, tag) == tag
    assert call_any(sval, tag, timeout=5) == tag
    assert list(sync_iter(agen())) == [0, 1, 2]
    assert parallel_map([(aval, (i,), {}, None) for i in range(5)]) == list(range(5))
    asyncio.run(everything(tag))
    if with_trio:
        trio.run(everything, tag)

def fork_and_check(tag, exit_normally, with_trio=True):
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            child_work(tag, with_trio)
            code = 0
        except BaseException:
            traceback.print_exc()
        if exit_normally:
            sys.stdout.flush()
            sys.exit(code)  # atexit handlers run: the child's loop shuts down too
        os._exit(code)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)
    os.kill(pid, 9)
    return "hung"

threads = [threading.Thread(target=hammer) for _ in range(3)]
threads += [
    threading.Thread(target=loop_hammer, args=(lambda main: asyncio.run(main()),)),
    threading.Thread(target=loop_hammer, args=(trio.run,)),
]
for thread in threads:
    thread.start()
time.sleep(0.05)

codes = []
for n in range(forks):
    time.sleep(0.005)
    codes.append(fork_and_check(n, exit_normally=n % 2 == 0))

# From inside offloaded calls: the forked child carries on in that call, whose
# caller (an event loop, a Trio run) did not survive the fork. (Such a child ends
# with os._exit, as multiprocessing's do: it has no main thread to exit from.)
async def fork_inside_offload(with_trio):
    return await call_any(fork_and_check, 1000, False, with_trio)
codes.append(asyncio.run(fork_inside_offload(True)))
# (No Trio in that child: a child forked during trio.run inherits the signal wakeup
# fd Trio set in the parent, and a new trio.run there warns about it -- Trio's own
# limit, the same without synchronaut.)
codes.append(trio.run(fork_inside_offload, False))
codes.append(call_any(fork_and_check, 1001, False, timeout=60))

stop.set()
for thread in threads:
    thread.join(30)
assert not errors, errors[:3]
assert codes == [0] * len(codes), codes
assert call_any(aval, 7) == 7 and call_any(sval, 8, timeout=5) == 8  # the parent too
print("forked", len(codes))
"""


def test_forking_while_calls_are_in_flight_gives_children_a_working_bridge(scale) -> None:
    forks = scale(12, 200)
    result = run_child(CHILD.replace("int(sys.argv[1])", str(forks)), timeout=scale(60, 600))
    assert result.stdout == f"forked {forks + 3}\n", result.stderr
    assert result.stderr == ""
    assert result.returncode == 0


FORK_CASES = """
import asyncio, os, sys, threading, time, traceback, warnings
warnings.filterwarnings("ignore", category=DeprecationWarning)  # fork with threads
from synchronaut_core import (
    WorkerPool, call_any, call_sync, set_default_executor, thread_sensitive_context,
)

def wait_child(pid):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)
    os.kill(pid, 9)
    return "hung"

def in_child(check):
    # Fork here; the child runs ``check`` and reports through its exit code.
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            check()
            code = 0
        except BaseException:
            traceback.print_exc()
        sys.stderr.flush()
        os._exit(code)
    return wait_child(pid)

def where():
    return threading.current_thread().name

def child_sensitive_calls():
    # In the child, on the copy of the background loop's thread, inside the
    # coroutine: its thread-sensitive calls must not go to the parent's parked caller.
    async def body():
        assert (await call_any(where, thread_sensitive=True)).startswith("synchronaut-sensitive")
        assert await call_any(lambda: 5) == 5
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(body())
    finally:
        loop.close()

async def forks_inside_a_coroutine():
    # Runs on the background loop for a blocked sync caller (the TS window).
    assert await call_any(where, thread_sensitive=True) == "MainThread"
    return in_child(child_sensitive_calls)

codes = {"coroutine": call_sync(forks_inside_a_coroutine)}

pool = WorkerPool(4)
set_default_executor(pool)
assert call_any(lambda: 1, force_offload=True) == 1  # the pool has a worker now
def child_user_pool():
    assert call_any(lambda: 2, force_offload=True) == 2
    assert pool.submit(lambda: 3).result(timeout=5) == 3
    async def offload():
        return await call_any(lambda: 4)
    assert asyncio.run(offload()) == 4
codes["user pool"] = in_child(child_user_pool)
set_default_executor(None)

async def inside_a_block():
    async with thread_sensitive_context():
        first = await call_any(where, thread_sensitive=True)
        def child_block():
            async def again():
                assert await call_any(where, thread_sensitive=True) == first
            # The block's thread is gone in the child: a new one serves the block.
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(again())
            finally:
                loop.close()
        return in_child(child_block)
codes["block"] = asyncio.run(inside_a_block())

release = threading.Event()
pool = WorkerPool(1, idle_timeout=None)
busy = pool.submit(release.wait, 30)
queued = pool.submit(lambda: "parent only")
def child_orphans():
    # Running and queued in the parent: failed in the child, never waited for.
    for future in (busy, queued):
        try:
            future.result(timeout=5)
        except RuntimeError as exc:
            assert "forked" in str(exc), exc
        else:
            raise AssertionError("ran in the child")
    assert pool.submit(lambda: "child").result(timeout=5) == "child"
codes["orphans"] = in_child(child_orphans)
release.set()
assert queued.result(timeout=5) == "parent only"

print(codes)
"""


def test_after_fork_thread_sensitive_calls_and_user_pools_work_in_the_child() -> None:
    result = run_child(FORK_CASES, timeout=120)
    assert result.stdout == "{'coroutine': 0, 'user pool': 0, 'block': 0, 'orphans': 0}\n", (
        result.stdout + result.stderr
    )
    assert result.returncode == 0
