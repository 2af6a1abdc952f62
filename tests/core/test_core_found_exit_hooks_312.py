"""Calls from an atexit hook behave on Python 3.12 as on 3.11 and 3.13 (no thread can start there).

Found by an adversarial review, and fixed; what it found:

``_at_exit`` (ee8c374) covers two spots only: ``_block_on_coroutine`` (a coroutine
runs on a new loop in the main thread, ``_run_coroutine_here``) and ``_JobWait``
(an offloaded sync call from sync code runs inline). Everything else that needs a
thread still fails on 3.12 -- and only on 3.12 -- with "can't create new thread at
interpreter shutdown":

- ``sync_iter`` / ``sync_cm`` / ``call_any(async_gen_fn)``: ``_pinned._pin_loop`` ->
  ``_loop._get_background()`` raises, nothing catches it (``_threads_refused`` is
  only consulted in ``_blocking``).
- Inside the coroutine run at exit (on the main thread's own loop), ``await
  call_any(def)`` (the WorkerPool cannot start a worker), a thread-sensitive call
  (the dedicated thread cannot start: the waiting caller *is* the loop thread), and
  therefore ``parallel_map`` with any sync entry.
- A blocking ``call_sync(async def)`` made inside that coroutine: the background
  loop cannot start, so ``_run_coroutine_here`` calls ``run_until_complete`` on a
  second loop in a thread whose loop is running: "Cannot run the event loop while
  another loop is running" -- and the coroutine and its ``_bounded`` wrapper are
  left un-awaited ("coroutine ... was never awaited" at exit).
- A timeout is not bounded: ``_at_exit._bounded`` cancels and then awaits the task
  with no grace, so a coroutine that ignores its cancellation holds exit forever,
  where on 3.11/3.13 the waiter gives up after ``_loop_calls._CANCEL_GRACE``.

Suggested fix: route every "start a loop thread / worker thread" through one helper
that, on ``_threads_refused``, degrades to the calling thread (pinned objects: a
loop owned by the iterator/cm in the main thread, stepped with
``run_until_complete``; offloads from a coroutine on the at-exit loop: run inline;
thread-sensitive calls: run inline on the main thread, which is the sync caller).
A blocking call made while a loop already runs in the main thread cannot get a
second loop there: fail with a clear error and close the coroutine first (no
"never awaited"). Bound ``_bounded``'s wait for the cancelled task by
``_CANCEL_GRACE``, as ``_LoopCall`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import asyncio, atexit, contextlib, threading, time
from synchronaut_core import CallAnyTimeout, call_any, call_sync, sync_cm, sync_iter

async def five():
    await asyncio.sleep(0.01)
    return 5

async def agen():
    yield 1
    yield 2

@contextlib.asynccontextmanager
async def acm():
    yield "cm"

async def offloads():
    return await call_any(int, "7")

async def sensitive():
    return await call_any(lambda: 8, thread_sensitive=True)

async def nested():
    return call_sync(five)

async def stubborn():
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass

def hook():
    try:
        print("got", BODY, flush=True)
    except BaseException as exc:
        print("failed", type(exc).__name__, exc, flush=True)

atexit.register(hook)  # registered first: runs after synchronaut's own exit hook
import synchronaut_core._loop_calls
synchronaut_core._loop_calls._CANCEL_GRACE = 0.5
call_sync(five)  # the background loop ran (and is stopped at exit)
"""

CASES = {
    "sync_iter": ("list(sync_iter(agen()))", "got [1, 2]"),
    "async_gen_function": ("list(call_any(agen))", "got [1, 2]"),
    "sync_cm": ("sync_cm(acm()).__enter__()", "got cm"),
    "coroutine_offloads_def": ("call_sync(offloads)", "got 7"),
    "coroutine_thread_sensitive": ("call_sync(sensitive)", "got 8"),
    # "got 5" where a thread can start; at least a clear error (not asyncio's own
    # "Cannot run the event loop while another loop is running") and no coroutine
    # left un-awaited where none can.
    "nested_call_sync": ("call_sync(nested)", "got 5"),
    "parallel_map_sync_entry": (
        "__import__('synchronaut_batch')"
        ".parallel_map([(int, ('3',), {}, None), (five, (), {}, None)])",
        "got [3, 5]",
    ),
    "timeout_ignored_cancellation": (
        "call_sync(stubborn, timeout=0.05)",
        "failed CallAnyTimeout Function stubborn timed out after 0.05s",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_atexit_hook_call_behaves_as_on_other_pythons(case: str) -> None:
    body, expected = CASES[case]
    child = textwrap.dedent(PRELUDE).replace("BODY", body)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", child],
            capture_output=True,
            text=True,
            timeout=4,
            env=dict(os.environ),
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{case}: interpreter exit hangs in the atexit hook") from exc
    assert "never awaited" not in proc.stderr, proc.stderr[-2000:]
    out = proc.stdout.strip()
    if case == "nested_call_sync" and out.startswith("failed RuntimeError"):
        assert "another loop is running" not in out, out
        return
    assert out == expected, (proc.stdout, proc.stderr[-2000:])
