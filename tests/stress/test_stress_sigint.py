"""Ctrl-C (SIGINT) while sync code waits on the bridge, over and over, in a real process.

The child blocks in every kind of wait synchronaut has -- a coroutine on the
background loop, a sync call in the pool, a step of an async generator, an async
context manager, a batch -- and the parent interrupts it there, again and again.
Each time the child must get ``KeyboardInterrupt`` in that wait, the work it waited
for must stop (a coroutine's ``finally`` runs, a sync call sees ``check_cancelled``),
and the next call must work; at the end the child exits cleanly with nothing on
stderr.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from collections.abc import Callable

import pytest
from stress_helpers import LineReader, python_code

pytestmark = pytest.mark.skipif(
    os.name == "nt" or not hasattr(signal, "SIGINT"), reason="POSIX signals"
)

CHILD = """
import asyncio, sys, threading, time
from synchronaut import (
    CallCancelled, call_any, check_cancelled, parallel_map, sync_cm, sync_iter,
)

rounds = int(sys.argv[1])
lock = threading.Lock()
count = {"started": 0, "finished": 0, "sync started": 0, "sync stopped": 0}

def tick(name):
    with lock:
        count[name] += 1

async def waits_forever():
    tick("started")
    try:
        print("waiting", flush=True)
        await asyncio.sleep(3600)
    finally:
        tick("finished")

def blocks_until_cancelled():
    tick("sync started")
    print("waiting", flush=True)
    try:
        while True:
            check_cancelled()
            time.sleep(0.001)
    except CallCancelled:
        tick("sync stopped")
        raise

async def endless():
    tick("started")
    try:
        yield 0
        print("waiting", flush=True)
        await asyncio.sleep(3600)
        yield 1
    finally:
        tick("finished")

class SlowToEnter:
    async def __aenter__(self):
        tick("started")
        try:
            print("waiting", flush=True)
            await asyncio.sleep(3600)
        finally:
            tick("finished")
    async def __aexit__(self, *exc_info):
        return None

async def quick(i):
    await asyncio.sleep(0)
    return i

def iterate():
    iterator = sync_iter(endless())
    next(iterator)
    next(iterator)

def enter():
    with sync_cm(SlowToEnter()):
        pass

WAITS = [
    lambda: call_any(waits_forever),
    lambda: call_any(waits_forever, timeout=3600),
    lambda: call_any(blocks_until_cancelled, timeout=3600),
    lambda: call_any(blocks_until_cancelled, force_offload=True),
    iterate,
    enter,
    lambda: parallel_map([(quick, (1,), {}, None), (waits_forever, (), {}, None)]),
]

print("ready", flush=True)
for k in range(rounds):
    try:
        WAITS[k % len(WAITS)]()
        print("not interrupted", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted {k}", flush=True)
    assert call_any(quick, k) == k  # the bridge works right after

# Everything interrupted has stopped: coroutines ran their finally blocks, sync
# calls saw check_cancelled().
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    with lock:
        if count["started"] == count["finished"] and count["sync started"] == count["sync stopped"]:
            break
    time.sleep(0.01)
print("counts", count["started"], count["finished"], count["sync started"],
      count["sync stopped"], flush=True)
"""


#: Put first in each child: SIGUSR1 prints every thread's stack to stderr (``drive``
#: sends it to a child that stopped answering, so a hang says where it is).
DUMPS_STACKS = (
    "import faulthandler as _fh, signal as _signal\n"
    "_fh.register(_signal.SIGUSR1, all_threads=True)\n"
)


def test_sigint_while_waiting_on_the_bridge_interrupts_the_wait_stops_the_work_every_time(
    scale,
) -> None:
    rounds = scale(42, 700)
    err = drive(CHILD, rounds, talk)
    assert err == ""


def drive(
    code: str, rounds: int, dialogue: Callable[[subprocess.Popen[str], LineReader, int], None]
) -> str:
    """Start ``code`` with ``rounds``, hold ``dialogue`` with it; its stderr once it exited 0.

    A failed dialogue kills the child and fails with the child's stderr attached.
    """
    proc = subprocess.Popen(
        [*python_code(DUMPS_STACKS + code), str(rounds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = LineReader(proc.stdout)
    try:
        dialogue(proc, lines, rounds)
    except AssertionError as failure:
        # Where is it stuck? Every thread's stack (faulthandler, which needs no lock
        # and no working interpreter loop), then the kill.
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1)
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"{failure}; the child's stderr: {err}") from None
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err


def talk(proc: subprocess.Popen[str], lines: LineReader, rounds: int) -> None:
    """Interrupt each wait of the child's; check what it reports."""
    assert lines.next(30) == "ready\n"
    for k in range(rounds):
        assert lines.next(30) == "waiting\n", f"round {k}"
        # Somewhere in the wait: right away, or once it has settled.
        if random.random() < 0.5:
            time.sleep(random.uniform(0, 0.01))
        proc.send_signal(signal.SIGINT)
        assert lines.next(30) == f"interrupted {k}\n", f"round {k}"
    counts = lines.next(30)
    assert counts is not None and counts.startswith("counts"), counts
    started, finished, sync_started, sync_stopped = map(int, counts.split()[1:])
    assert started == finished > 0
    assert sync_started == sync_stopped > 0
    assert lines.next(30) == ""  # end of output


HAMMERED = """
import asyncio, sys, threading, time
from synchronaut import call_any, parallel_map, sync_iter

lock = threading.Lock()
count = {"started": 0, "finished": 0}

async def nap(i):
    with lock:
        count["started"] += 1
    try:
        await asyncio.sleep(0.002)
        return i
    finally:
        with lock:
            count["finished"] += 1

def snooze(i):
    time.sleep(0.002)
    return i

async def agen():
    for i in range(3):
        await asyncio.sleep(0.001)
        yield i

target = int(sys.argv[1])
interrupts = reported = i = 0
print("ready", flush=True)
while interrupts < target:
    try:
        # Reported from inside the try: the parent sends the next signal once it
        # reads the line, and that signal must land in here (even in this print).
        if reported != interrupts:
            reported = interrupts
            print(f"interrupted {interrupts}", flush=True)
        while True:
            i += 1
            kind = i % 4
            if kind == 0:
                assert call_any(nap, i) == i
            elif kind == 1:
                assert call_any(snooze, i, timeout=5) == i
            elif kind == 2:
                assert list(sync_iter(agen())) == [0, 1, 2]
            else:
                assert parallel_map([(nap, (j,), {}, None) for j in range(5)]) == list(range(5))
    except KeyboardInterrupt:
        interrupts += 1
print(f"interrupted {interrupts}", flush=True)
assert call_any(nap, -1) == -1
assert call_any(snooze, -2, timeout=5) == -2
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    with lock:
        if count["started"] == count["finished"]:
            break
    time.sleep(0.01)
print("counts", count["started"], count["finished"], flush=True)
"""

#: What CPython prints when a signal lands while a finalizer (``__del__``, a weakref
#: callback) runs: the KeyboardInterrupt is reported there and dropped. No library
#: can prevent it; the parent then interrupts again.
DROPPED_IN_FINALIZER = re.compile(
    r"Exception ignored in: [^\n]*\nTraceback \(most recent call last\):\n"
    r"(?:(?:  [^\n]*)?\n)*KeyboardInterrupt: ?\n"
)


#: What CPython's importlib leaves when a signal lands between opening a module's source
#: and closing it (``SourceFileLoader.get_data``): the import fails with the
#: KeyboardInterrupt (and is made again on next use, see ``_first_use``), the file is
#: closed by the garbage collector with a ResourceWarning. The child's first calls
#: import synchronaut's slow-path modules while signals land, on purpose.
IMPORT_LEFT_FILE_OPEN = re.compile(
    r"<frozen importlib\._bootstrap_external>:\d+: ResourceWarning: unclosed file "
    r"<_io\.BufferedReader name='[^'\n]*'>\n"
    r"(?:ResourceWarning: Enable tracemalloc to get the object allocation traceback\n)?"
)


def test_sigint_at_random_moments_of_busy_calls_never_hangs_and_leaves_the_bridge_working(
    scale,
) -> None:
    # Signals land anywhere: in a wait, while a coroutine is handed to the loop, while
    # a job is queued... The child must never hang, never leave a coroutine
    # un-awaited, and every coroutine started must finish.
    interrupts = scale(120, 1_000)
    err = drive(HAMMERED, interrupts, interrupt_at_random)
    assert IMPORT_LEFT_FILE_OPEN.sub("", DROPPED_IN_FINALIZER.sub("", err)) == ""


def interrupt_at_random(proc: subprocess.Popen[str], lines: LineReader, interrupts: int) -> None:
    assert lines.next(30) == "ready\n"
    for k in range(1, interrupts + 1):
        time.sleep(random.uniform(0, 0.02))
        proc.send_signal(signal.SIGINT)
        # A signal dropped in a finalizer is resent after a generous wait (a
        # loaded machine can be slow to answer one that was not dropped).
        line = lines.next(10)
        for _ in range(3):
            if line is not None:
                break
            proc.send_signal(signal.SIGINT)  # dropped in a finalizer: again
            line = lines.next(10)
        assert line == f"interrupted {k}\n", k
    counts = lines.next(30)
    assert counts is not None and counts.startswith("counts"), counts
    started, finished = map(int, counts.split()[1:])
    assert started == finished > 0
    assert lines.next(30) == ""
