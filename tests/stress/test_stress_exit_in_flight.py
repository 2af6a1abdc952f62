"""Exit with every kind of call still in flight: prompt (under 2 s) and silent.

When the main module ends, daemon threads are still in the middle of calls of every
kind -- a coroutine on the background loop, a sync call in the pool, an async
generator driven from sync code, an async context manager held open, a batch, a
streamed batch, asyncio (uvloop) and Trio loops offloading, thread-sensitive calls
-- and nothing of it may delay the exit or print anything.
"""

from __future__ import annotations

import pytest
from stress_helpers import run_child

IN_FLIGHT = """
import asyncio, threading, time
import trio
import uvloop
from synchronaut import (
    async_cm, async_iter, call_any, current_async_library, parallel_iter, parallel_map,
    sync_cm, sync_iter, thread_sensitive_context,
)

started = threading.Semaphore(0)

async def forever():
    started.release()
    if current_async_library() == "trio":
        await trio.sleep_forever()
    await asyncio.sleep(3600)

def stuck():
    started.release()
    time.sleep(3600)

async def endless():
    while True:
        await asyncio.sleep(0.001)
        yield 1

def endless_rows():
    while True:
        time.sleep(0.001)
        yield 1

class Held:
    async def __aenter__(self):
        return self
    async def __aexit__(self, *exc_info):
        await asyncio.sleep(0)

class HeldLock:
    def __enter__(self):
        started.release()
        return self
    def __exit__(self, *exc_info):
        time.sleep(3600)

def iterate():
    for _ in sync_iter(endless()):
        pass

def hold_open():
    with sync_cm(Held()):
        started.release()
        time.sleep(3600)

def stream():
    for _ in parallel_iter([(forever, (), {}, None), (stuck, (), {}, None)]):
        pass

async def loop_work():
    async def rows():
        started.release()
        async for _ in async_iter(endless_rows()):
            pass
    async def held():
        async with async_cm(HeldLock()):
            await forever()
    async def sensitive():
        async with thread_sensitive_context():
            await call_any(stuck, thread_sensitive=True)
    jobs = [call_any(stuck), call_any(forever), call_any(stuck, timeout=3600), rows(), held(),
            sensitive(), parallel_map([(stuck, (), {}, None), (forever, (), {}, None)])]
    if current_async_library() == "trio":
        async with trio.open_nursery() as nursery:
            for job in jobs:
                nursery.start_soon(lambda job=job: job)
    else:
        await asyncio.gather(*jobs)

def in_asyncio():
    loop = uvloop.new_event_loop()
    loop.run_until_complete(loop_work())

threads = [
    lambda: call_any(forever),
    lambda: call_any(stuck, timeout=3600),
    lambda: call_any(stuck, force_offload=True),
    lambda: call_any(stuck, thread_sensitive=True),
    iterate,
    hold_open,
    lambda: parallel_map([(forever, (), {}, None), (stuck, (), {}, None)]),
    stream,
    in_asyncio,
    lambda: trio.run(loop_work),
]
for target in threads:
    threading.Thread(target=target, daemon=True).start()
# Every thread is in the middle of its calls (each callee reports when it starts).
for _ in range(24):
    assert started.acquire(timeout=30)
print("exiting", flush=True)
"""


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_process_exits_within_2s_silently_with_every_kind_of_call_in_flight(loop) -> None:
    result = run_child(IN_FLIGHT, env={"SYNCHRONAUT_LOOP": loop}, timeout=60)
    assert result.stdout == "exiting\n", result.stderr
    assert result.stderr == ""
    assert result.returncode == 0
    assert result.exit_seconds < 2.0


# Calls a daemon thread starts only once the interpreter is exiting (an atexit hook
# of the main module lets them go, then gives them time to fail): on Python 3.12
# no thread can start then (ours, Trio's thread cache's), and a ThreadPoolExecutor
# refuses new work on every Python. Found in CI: a Trio batch whose thread was slow
# under load printed "can't create new thread at interpreter shutdown" as the
# process ended. Such a caller waits to be frozen, silently.
LATE = """
import asyncio, atexit, threading, time
from concurrent.futures import ThreadPoolExecutor
import trio
from synchronaut import call_any, parallel_map, sync_iter, WorkerPool

late = threading.Event()
pool = ThreadPoolExecutor(1)

async def forever():
    await asyncio.sleep(3600)

async def ticks():
    while True:
        await asyncio.sleep(3600)
        yield 1

def stuck():
    time.sleep(3600)

calls = {
    "sync to async, no loop yet": lambda: call_any(forever),
    "sync_iter, no loop yet": lambda: next(iter(sync_iter(ticks()))),
    "asyncio offload, new pool": lambda: asyncio.run(call_any(stuck, executor=WorkerPool(1))),
    "asyncio offload, executor": lambda: asyncio.run(call_any(stuck, executor=pool)),
    "asyncio thread-sensitive": lambda: asyncio.run(call_any(stuck, thread_sensitive=True)),
    "trio offload": lambda: trio.run(call_any, stuck),
    "trio batch": lambda: trio.run(parallel_map, [(stuck, (), {}, None)]),
    "trio offload, executor": lambda: trio.run(lambda: call_any(stuck, executor=pool)),
}

def when_late(call):
    late.wait()
    call()

for name, call in calls.items():
    threading.Thread(target=when_late, args=(call,), name=name, daemon=True).start()

@atexit.register
def let_them_go():
    late.set()
    time.sleep(1.0)

print("exiting", flush=True)
"""


def test_calls_a_daemon_thread_starts_at_exit_wait_silently() -> None:
    result = run_child(LATE, timeout=60)
    assert result.stdout == "exiting\n", result.stderr
    assert result.stderr == ""
    assert result.returncode == 0
