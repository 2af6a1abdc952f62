"""An abandoned anyio worker outliving its loop's run does not hang in the affinity check.

Found by an adversarial review, and fixed; what it found:

Loop affinity for anyio's worker threads (``_anyio._ask_anyio``) asks anyio which
loop the thread serves with ``anyio.from_thread.run_sync(_here)``. On asyncio anyio
implements that as ``loop.call_soon_threadsafe(wrapper); return f.result()``: an
unbounded wait, refused up front only when the loop ``is_closed()``. A loop that has
*stopped* without being closed -- ``loop.run_until_complete(main())`` with the loop
kept for reuse, as older code and test harnesses do -- accepts the callback and
never runs it. A worker started with ``abandon_on_cancel=True`` whose caller gave
up, and which then calls a decorated coroutine function (or ``call_any(async_fn)``),
therefore blocks forever in anyio's ``f.result()``: not one of synchronaut's
bounded, alive-checking waits, and not interruptible. The thread is anyio's
(non-daemon), so the interpreter cannot even exit. Without anyio imported the same
call runs on the background loop at once; ``_affinity_host`` would itself discard a
loop that is not running -- but only after the question was answered. The README
says this wait can only last "in the instant its loop closes"; here it is forever.

Suggested fix: do not ask a loop that is not running. The asyncio answer *is* the
loop (anyio's per-thread token, ``threadlocals.current_token.native_token``): read
it where available and check ``is_running()`` (falling back to asking); or ask with
a bounded wait of synchronaut's own (``run_sync`` on a helper that the asking
thread waits for with its usual probe, giving up -- no affinity -- when the loop
does not answer and is not running).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("anyio")

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys, threading, time
    import anyio, anyio.to_thread
    from synchronaut_core import synchronaut

    @synchronaut
    async def ping():
        await asyncio.sleep(0)
        return "pong"

    result = []

    def worker():
        time.sleep(0.3)  # the caller gives up meanwhile, and the loop stops
        result.append(ping())

    async def main():
        with anyio.move_on_after(0.1):
            await anyio.to_thread.run_sync(worker, abandon_on_cancel=True)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(main())  # stopped, not closed: kept for reuse
    deadline = time.monotonic() + 3
    while not result and time.monotonic() < deadline:
        time.sleep(0.02)
    print("result", result, flush=True)
    os._exit(0)  # the stuck worker is anyio's non-daemon thread: do not join it
    """
)


def test_abandoned_anyio_worker_on_a_stopped_loop_does_not_hang() -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=15
        )
    except subprocess.TimeoutExpired:  # pragma: no cover - the child itself is bounded
        pytest.fail("the child process hung")
    assert "result ['pong']" in done.stdout, done.stdout + done.stderr
