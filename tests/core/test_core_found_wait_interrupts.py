"""A Ctrl-C as a wait ends always unpublishes the thread and closes its window.

Found by an adversarial review, and fixed; what it found:

A Ctrl-C that lands as a wait ends leaves the thread published as blocked, its window open.

``_Wait.wait`` undoes its publication in ``finally: self._leave()``. ``_leave`` is a
plain function: an interrupt at its entry (or right after its ``with self.lock:``
block, or at the entry of ``_LoopCall._leave``) skips all of it. The thread then
stays in ``_blocked`` and in ``_state.wait`` for good, and the call's
thread-sensitive window stays open:

- a task the call started and that outlives it sends its thread-sensitive calls to
  the inbox of a thread that no longer waits: they run only if that thread ever waits
  again -- else never (the task hangs);
- ``_is_blocked(thread)`` is true forever: a loop that thread runs later counts as
  blocked, so loop affinity is silently lost (coroutines of its offloaded calls go to
  the background loop; loop-bound objects break);
- every later wait of the thread has the stale one as ``outer``: none is outermost,
  so ``_drain`` never runs again on it.

Expected: whatever point of the wait the interrupt lands on, once ``call_any``
returns or raises, the thread is not published and the window is closed.
"""

from __future__ import annotations

import json
import os

from support_process import run_python

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_child(code: str, timeout: float = 100) -> dict:
    proc = run_python(code, timeout=timeout, cwd=HERE, env={**os.environ, "PYTHONPATH": HERE})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"child printed no result (rc={proc.returncode}):\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1])


SWEEP = """
import asyncio, json, threading
from _thread import get_ident
import support_faults
from synchronaut_core import _loop_calls, _waits, call_any
from synchronaut_core._thread_state import _state

stale = []
stranded = []
points = 0
tasks = set()

def sensitive():
    return 7

async def later(done):
    await asyncio.sleep(0.2)  # after the call that started it has returned
    try:
        await call_any(sensitive, thread_sensitive=True)
    finally:
        done.set()

async def coro(started, done):
    task = asyncio.get_running_loop().create_task(later(done))
    tasks.add(task)
    started.set()
    return 1

call_any(coro, threading.Event(), threading.Event())  # warm up
n = 0
while True:
    started, done = threading.Event(), threading.Event()
    injector = support_faults.Injector([_waits._Wait._leave, _loop_calls._LoopCall._leave], n)
    try:
        with injector:
            call_any(coro, started, done)
    except KeyboardInterrupt:
        pass
    if not injector.fired:
        break
    points += 1
    if _state.wait is not None or get_ident() in _waits._blocked:
        stale.append(injector.where)
    if started.is_set() and not done.wait(3):
        stranded.append(injector.where)
    # Clean up by hand so that the next run starts fresh.
    _state.wait = None
    _waits._blocked.pop(get_ident(), None)
    while _state.inbox is not None and _state.inbox.jobs:
        _state.inbox.jobs.popleft().run()
    n += 1
print(json.dumps({"points": points, "stale": stale, "stranded": stranded}))
"""


def test_an_interrupted_wait_always_unpublishes_its_thread_and_closes_its_window() -> None:
    result = run_child(SWEEP)
    assert result["points"] > 0
    assert result["stale"] == [], (
        f"the thread stayed published as blocked after a Ctrl-C at: {result['stale']}"
    )
    assert result["stranded"] == [], (
        "a task outliving the call hung on its thread-sensitive call (sent to the inbox "
        f"of a thread no longer waiting) after a Ctrl-C at: {result['stranded']}"
    )


AFFINITY = """
import asyncio, json, threading
from _thread import get_ident
import support_faults
from synchronaut_core import _loop_calls, _waits, call_any, call_sync

async def coro():
    return 1

# A Ctrl-C lands at the entry of _LoopCall._leave of one blocking call.
injector = support_faults.Injector([_loop_calls._LoopCall._leave], 0)
try:
    with injector:
        call_any(coro)
except KeyboardInterrupt:
    pass

# Later, this thread runs an asyncio app whose offloaded sync code calls async code:
# it should run on the app's loop (loop affinity), where the app's lock lives.
async def uses_lock(lock):
    async with lock:
        return threading.current_thread().name

def offloaded(lock):
    return call_sync(uses_lock, lock)

async def app():
    lock = asyncio.Lock()
    await lock.acquire()
    lock.release()
    try:
        return await call_any(offloaded, lock)
    except Exception as exc:
        return repr(exc)

print(json.dumps({"fired": injector.fired, "where": injector.where, "ran_on": asyncio.run(app())}))
"""


def test_loop_affinity_survives_an_interrupted_wait_on_the_same_thread() -> None:
    result = run_child(AFFINITY, timeout=60)
    assert result["fired"], result
    assert result["ran_on"] == "MainThread", (
        "after a Ctrl-C while leaving an earlier wait, this thread's loop counts as "
        f"blocked forever: loop affinity is lost ({result})"
    )
