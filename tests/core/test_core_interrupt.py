"""Ctrl-C while sync code waits on the background loop: KeyboardInterrupt, work cancelled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name == "nt", reason="POSIX signals")
def test_sigint_while_blocked_raises_keyboard_interrupt_and_cancels_the_coroutine() -> None:
    code = textwrap.dedent(
        """
        import asyncio, sys, threading
        from synchronaut_core import call_any

        cleaned = threading.Event()

        async def forever():
            try:
                print("started", flush=True)
                await asyncio.sleep(3600)
            finally:
                cleaned.set()

        try:
            call_any(forever)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        print("cleaned" if cleaned.wait(5) else "not cleaned", flush=True)

        async def ok():
            return "still works"

        print(call_any(ok), flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"
    time.sleep(0.1)  # let the main thread park in its wait
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert out == "interrupted\ncleaned\nstill works\n", err
    assert err == ""
