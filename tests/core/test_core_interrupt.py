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


# --- Ctrl-C in the gap between making a coroutine and handing it over ------------------
#
# A signal can land on the entry of the function that takes the coroutine over, before
# anything owns it. The tests below raise KeyboardInterrupt exactly there (standing in
# for the signal) and check the coroutine is closed, not left to warn "never awaited"
# when collected -- and that one which did start is left alone.


def _interrupted_on_entry(*args: object) -> None:
    raise KeyboardInterrupt


async def _never_runs() -> None:
    raise AssertionError("the coroutine ran")


def _returns_a_coroutine() -> object:
    return _never_runs()


class _Method:
    async def coro(self) -> None:
        raise AssertionError("the coroutine ran")


def _calls() -> list[tuple[str, object]]:
    from synchronaut import synchronaut
    from synchronaut_core import CallOptions, call_any, call_sync

    decorated = synchronaut()(_returns_a_coroutine)
    return [
        ("call_any(async def)", lambda: call_any(_never_runs)),
        ("call_any(def returning a coroutine)", lambda: call_any(_returns_a_coroutine)),
        ("call_any(..., timeout)", lambda: call_any(_never_runs, timeout=5)),
        ("call_sync(async def)", lambda: call_sync(_never_runs)),
        ("CallOptions(timeout).sync", lambda: CallOptions(timeout=5).sync(_returns_a_coroutine)),
        ("call_any(bound async method)", lambda: call_any(_Method().coro)),
        ("decorated def returning a coroutine", decorated),
    ]


@pytest.mark.parametrize("index", range(7))
def test_an_interrupt_before_the_coroutine_is_handed_over_closes_it(
    index: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import warnings

    from synchronaut_core import _blocking, _call

    # _decorator imports it where the blocking paths start (see _first_use); _call binds
    # it to a name of its own once (_call._machinery): patched in both places.
    _call._machinery()  # pyright: ignore[reportPrivateUsage]
    monkeypatch.setattr(_blocking, "_block_on_coroutine", _interrupted_on_entry)
    monkeypatch.setattr(_call, "_block_on_coroutine", _interrupted_on_entry)
    name, call = _calls()[index]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(KeyboardInterrupt):
            call()  # type: ignore[operator]
        gc.collect()
    assert [str(w.message) for w in caught] == [], name


def test_a_coroutine_that_started_is_not_closed_by_the_interrupted_caller() -> None:
    from synchronaut_core._detect import _close_if_unstarted

    async def two_steps() -> int:
        await __import__("asyncio").sleep(0)
        return 1

    coro = two_steps()
    coro.send(None)  # suspended at its first await, as on a loop
    _close_if_unstarted(coro)
    with pytest.raises(StopIteration):
        coro.send(None)  # still alive: it finishes
    done = two_steps()
    _close_if_unstarted(done)  # never started: closed
    with pytest.raises(RuntimeError, match="cannot reuse already awaited coroutine"):
        done.send(None)


def test_an_interrupt_between_handover_and_wait_cancels_the_coroutine(monkeypatch) -> None:
    # Ctrl-C landing right after the coroutine was handed to its loop, before the
    # caller parks: the coroutine must still be cancelled (its finally runs) and
    # thread-sensitive calls it makes must not hang.
    import threading

    from synchronaut_core import _loop_calls, call_any

    entered = threading.Event()
    cleaned_up = threading.Event()
    sensitive_ran: list[str] = []

    def sensitive() -> str:
        return threading.current_thread().name

    async def coroutine() -> None:
        entered.set()
        try:
            import asyncio

            sensitive_ran.append(await call_any(sensitive, thread_sensitive=True))
            await asyncio.sleep(3600)
        finally:
            cleaned_up.set()

    real_park = _loop_calls._LoopCall._park

    def interrupted_park(self: _loop_calls._LoopCall) -> None:
        assert entered.wait(5)  # the loop has started it
        raise KeyboardInterrupt

    monkeypatch.setattr(_loop_calls._LoopCall, "_park", interrupted_park)
    with pytest.raises(KeyboardInterrupt):
        call_any(coroutine)
    monkeypatch.setattr(_loop_calls._LoopCall, "_park", real_park)
    assert cleaned_up.wait(5)
    # Its thread-sensitive call went to the interrupted caller's window, which
    # closed: it ran on the process-wide thread instead of hanging.
    assert sensitive_ran in ([], ["synchronaut-sensitive-1"])
    assert call_any(lambda: "still works") == "still works"
