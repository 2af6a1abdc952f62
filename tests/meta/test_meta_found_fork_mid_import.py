"""os.fork() while another thread imports the first-use machinery (adversarial review).

The slower paths import their machinery on first use (``_first_use._load_machinery``), so
that import now happens at run time, when the program may have threads. A thread in the
middle of it holds the per-module import locks of the modules it is importing;
``os.fork()`` copied those locks, held, into the child, where their owner does not exist
(CPython re-initialises only the global import lock after a fork), and the modules
half-initialised: the child's first blocking call failed with ``ImportError: cannot
import name '_LoopCall' from partially initialized module`` (3.10-3.13), and every later
one too. Now a before-fork hook makes the forking thread finish that import first.

The importing thread is held 1 s at the start of ``_loop``'s module body, then goes on by
itself; the child makes its call on a daemon thread and gives it 10 s, so a hang would be
reported as a failure instead of hanging the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent(
    """
    import os, sys, threading
    from synchronaut_core import _first_use, call_any

    stalled = threading.Event()
    release = threading.Event()

    def tracer(frame, event, arg):
        # Holds the importing thread at the start of _loop's module body: the thread
        # then holds the import locks of _blocking, _loop_calls and _loop.
        code = frame.f_code
        if event == "call" and code.co_name == "<module>" and code.co_filename.endswith(
            "_loop.py"
        ) and "synchronaut_core" in code.co_filename:
            sys.settrace(None)
            stalled.set()
            release.wait(1.0)  # the importing thread goes on by itself
        return None

    async def add(a, b):
        return a + b

    def first_user():
        sys.settrace(tracer)
        _first_use._load_machinery()  # what a first blocking call starts with

    thread = threading.Thread(target=first_user)
    thread.start()
    stalled.wait()
    pid = os.fork()
    if pid == 0:
        results = []
        worker = threading.Thread(
            target=lambda: results.append(call_any(add, 2, 3)), daemon=True
        )
        worker.start()
        worker.join(10)
        os._exit(0 if results == [5] else 1)
    release.set()
    thread.join()
    _, status = os.waitpid(pid, 0)
    print("child exit", os.waitstatus_to_exitcode(status))
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_during_the_first_use_import_can_make_blocking_calls() -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", _SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "child exit 0\n"
