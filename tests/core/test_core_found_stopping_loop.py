"""Work posted to the background loop as it shuts down finishes; nothing is destroyed pending.

Found by an adversarial review, and fixed; what it found:

Work posted to the background loop while it shuts down is destroyed pending.

``_LoopThread._finish_pending`` takes one snapshot of the loop's tasks, cancels them
and runs the loop until they are done (``asyncio.wait``), then
``shutdown_asyncgens`` and ``close``. Callbacks posted meanwhile still run -- and
some start tasks: ``_pinned._start_task`` (a dropped or failed ``BlockingIterator``
or ``sync_cm`` closing its async object "later", ``_LoopPin.run_later``) creates the
``aclose()`` task with no check of ``closing``. That task is not in the snapshot:
it is never cancelled nor awaited, the generator it is closing is "already running"
when ``shutdown_asyncgens`` gets to it, and ``loop.close()`` destroys it pending:

    Task was destroyed but it is pending! task: <Task pending ... _aclose_quietly()>
    an error occurred during closing of asynchronous generator ... already running

and the generator's ``finally`` never completes. Reproduced: an iterator dropped by
a coroutine's ``finally`` as ``shutdown()`` cancels it; and at random in a race of
``shutdown()`` against ``sync_iter`` users (14 times in 20 s).

Expected: ``_finish_pending`` repeats its sweep until no new task appeared (bounded
by the grace), or ``run_later`` on a closing loop closes the object within the
sweep; no warning, the generator's ``finally`` runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CHILD = """
import asyncio, threading, warnings
warnings.simplefilter("always")
from synchronaut_core import call_sync, shutdown, sync_iter

closed = threading.Event()

async def agen():
    try:
        yield 1
        yield 2
    finally:
        await asyncio.sleep(0.05)
        closed.set()

refs = []
it = sync_iter(agen())
assert next(it) == 1
refs.append(it)
del it

async def holder(started):
    started.set()
    try:
        await asyncio.sleep(3600)
    finally:
        refs.clear()  # the iterator is dropped as shutdown() cancels us: closed "later"

def run():
    try:
        call_sync(holder, started)
    except RuntimeError:
        pass  # "shut down while holder was running": expected

started = threading.Event()
thread = threading.Thread(target=run, daemon=True)
thread.start()
started.wait(5)
shutdown()
thread.join(5)
print("finally ran:", closed.wait(2), flush=True)
"""


def test_an_iterator_closed_as_the_loop_shuts_down_is_closed_cleanly() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert "Task was destroyed but it is pending" not in proc.stderr, proc.stderr
    assert "already running" not in proc.stderr, proc.stderr
    assert "never awaited" not in proc.stderr, proc.stderr
    assert proc.stdout.strip() == "finally ran: True", (proc.stdout, proc.stderr)
