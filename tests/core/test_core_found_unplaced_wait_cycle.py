"""A blocking step bound to a loop that waits on the caller raises, never hangs.

Found by an adversarial review, and fixed; what it found:

Since ee8c374 a movable ``_LoopCall`` (``call_sync(async def)``, headed for the
background loop) reports ``target_thread() -> None`` until ``_handover`` sets
``placed``. But ``_handover`` first reads ``_is_blocked(background.ident)`` and only
then sets ``placed = True`` and posts: a check-then-act with nothing shared with the
cycle check of a bound call. If, in that window, the background loop's thread makes
a blocking call bound to the waiting loop L (``next()`` of an async generator pinned
to L), the bound call publishes its wait and runs ``_closes_cycle(L)``; L's wait is
not placed yet, so the chain "ends" (None) and the step is posted to L and waited
for. L's wait then sets ``placed`` and posts its coroutine to the background loop,
whose thread is now blocked on L: each loop waits for the other, forever (no
timeout, both alive). Before the change the check saw L -> background == me and
raised the documented RuntimeError.

The test widens the window (a pause inside ``_is_blocked`` on L's thread until the
bound call has done its cycle check), so it fails every time; unpatched, the window
is a few bytecodes wide and is hit by chance.

Suggested fix: make "is the background loop blocked? then placed" atomic with respect
to a bound call's "publish, then check the cycle" -- one lock around both (a bound
caller publishes before taking it, so either it sees the movable wait placed on its
own thread and raises, or the mover sees it blocked and moves to a spare).
"""

from __future__ import annotations

import subprocess

from support_process import run_python

CHILD = """
import asyncio, threading
from synchronaut_core import call_any, call_sync, sync_iter
from synchronaut_core import _loop_calls

real_is_blocked = _loop_calls._is_blocked
real_closes_cycle = _loop_calls._closes_cycle
L = {}
l_checked = threading.Event()
bg_checked = threading.Event()

def is_blocked(ident):
    result = real_is_blocked(ident)
    if threading.get_ident() == L.get("id") and not l_checked.is_set():
        l_checked.set()
        # The window between the check and ``placed = True``. (Fixed: the bound call's
        # cycle check waits for the placing to end, so this pause runs out.)
        bg_checked.wait(1)
    return result

def closes_cycle(ident):
    result = real_closes_cycle(ident)
    if ident == L.get("id"):
        bg_checked.set()
    return result

_loop_calls._is_blocked = is_blocked
_loop_calls._closes_cycle = closes_cycle

async def agen():
    yield 1

box = {}

def make_it():  # a worker offloaded from L: the iterator is pinned to L
    box["it"] = sync_iter(agen())

async def h():
    return "h"

async def on_l():
    L["id"] = threading.get_ident()
    await call_any(make_it)
    call_sync(h)  # L's thread blocks on a movable call to the background loop
    await asyncio.sleep(3)  # L keeps running: a step that reaches it is served

async def on_background():
    try:
        return next(box["it"])  # bound to L, whose thread waits for this loop
    except RuntimeError as exc:
        return "refused" if "blocked waiting for this thread" in str(exc) else repr(exc)

call_sync(h)  # the background loop runs
threading.Thread(target=asyncio.run, args=(on_l(),), daemon=True).start()
assert l_checked.wait(2)
print(call_sync(on_background), flush=True)
"""


def test_bound_step_onto_a_loop_waiting_for_us_raises_instead_of_hanging() -> None:
    try:
        proc = run_python(CHILD, timeout=15)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            "deadlock: the background loop waits on L's step while L's thread waits on "
            "a call posted to the (blocked) background loop"
        ) from exc
    # Refused (the cycle seen), or 1 (L's call moved to a spare loop): never a hang.
    assert proc.stdout.strip() in ("refused", "1"), proc.stderr[-2000:]
