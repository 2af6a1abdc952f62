"""The background loop: lazy, one named daemon thread, uvloop, fork-safe, clean exit."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import pytest

from synchronaut_core import call_any, shutdown


def run_python(code: str, *, env: dict[str, str] | None = None, timeout: float = 30):
    return subprocess.run(
        [sys.executable, "-W", "default", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


async def loop_info() -> tuple[str, str, bool]:
    loop = asyncio.get_running_loop()
    return threading.current_thread().name, type(loop).__module__, threading.current_thread().daemon


def test_import_has_no_side_effects() -> None:
    result = run_python(
        """
        import asyncio.events, logging, threading
        import synchronaut_core
        assert threading.active_count() == 1, threading.enumerate()
        assert asyncio.events._event_loop_policy is None
        assert not logging.getLogger("synchronaut").handlers
        print("clean")
        """
    )
    assert result.stdout == "clean\n", result.stderr
    assert result.stderr == ""


def test_loop_starts_lazily_on_first_sync_to_async_call() -> None:
    result = run_python(
        """
        import threading
        from synchronaut_core import call_any
        def f(): return 1
        call_any(f)
        call_any(f, timeout=1)  # executor offload: no loop needed
        assert "synchronaut-loop" not in [t.name for t in threading.enumerate()]
        async def g(): return threading.current_thread()
        thread = call_any(g)
        assert thread.name == "synchronaut-loop" and thread.daemon
        print("lazy")
        """
    )
    assert result.stdout == "lazy\n", result.stderr


def test_loop_is_one_daemon_thread_named_synchronaut_loop_using_uvloop() -> None:
    name, module, daemon = call_any(loop_info)
    assert name == "synchronaut-loop"
    assert daemon
    assert module.startswith("uvloop")
    assert [t.name for t in threading.enumerate()].count("synchronaut-loop") == 1


def test_plain_asyncio_loop_when_asked_and_policy_untouched() -> None:
    result = run_python(
        """
        import asyncio, asyncio.events
        from synchronaut_core import call_any
        async def kind(): return type(asyncio.get_running_loop()).__module__
        print(call_any(kind))
        print(asyncio.events._event_loop_policy is None or
              type(asyncio.get_event_loop_policy()).__module__.startswith("asyncio"))
        """,
        env={"SYNCHRONAUT_LOOP": "asyncio"},
    )
    assert result.stdout.split() == ["asyncio.unix_events", "True"], result.stderr


def test_shutdown_stops_the_loop_and_the_next_call_starts_a_new_one() -> None:
    async def ident() -> int:
        return threading.get_ident()

    first = call_any(ident)
    shutdown()
    assert first not in {t.ident for t in threading.enumerate()}
    call_any(ident)
    assert any(t.name == "synchronaut-loop" and t.is_alive() for t in threading.enumerate())
    shutdown()
    shutdown()  # idempotent


def test_shutdown_cancels_running_coroutines_and_fails_their_callers() -> None:
    entered = threading.Event()
    cleaned = threading.Event()
    outcome: list[BaseException] = []

    async def forever() -> None:
        entered.set()
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.set()

    def caller() -> None:
        try:
            call_any(forever)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert entered.wait(5)
    shutdown()
    thread.join(5)
    assert cleaned.is_set()
    assert len(outcome) == 1
    assert isinstance(outcome[0], RuntimeError)
    assert "shut down" in str(outcome[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 3.12+: fork() with threads
def test_loop_and_pool_are_recreated_in_a_forked_child() -> None:
    async def ident() -> int:
        return threading.get_ident()

    parent_loop = call_any(ident)
    call_any(time.sleep, 0, timeout=1)  # parent pool has a worker now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not touch pytest machinery; report through the pipe
        code = 1
        try:
            child_loop = call_any(ident)
            worker = call_any(lambda: threading.current_thread().name, timeout=5)
            ok = isinstance(child_loop, int) and worker.startswith("synchronaut-worker")
            os.write(write, b"ok" if ok else b"bad")
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    message = os.read(read, 100)
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    assert message == b"ok"
    assert call_any(ident) == parent_loop  # the parent's loop is unharmed


def test_interpreter_exit_cancels_pending_work_cleanly_and_promptly() -> None:
    started = time.monotonic()
    result = run_python(
        """
        import asyncio, threading, time
        from synchronaut_core import call_any

        async def background():
            try:
                await asyncio.sleep(3600)
            finally:
                print("cleanup ran", flush=True)

        async def spawn():
            asyncio.get_running_loop().create_task(background())
            await asyncio.sleep(0)

        async def forever():
            await asyncio.sleep(3600)

        call_any(spawn)
        # a daemon thread still blocked in a call at exit
        threading.Thread(target=call_any, args=(forever,), daemon=True).start()
        call_any(time.sleep, 60, timeout=0.05) if False else None
        time.sleep(0.1)
        print("exiting", flush=True)
        """
    )
    assert time.monotonic() - started < 10
    assert result.returncode == 0
    assert result.stdout == "exiting\ncleanup ran\n"
    assert result.stderr == ""


def test_interpreter_exit_is_not_held_up_by_abandoned_sync_work() -> None:
    started = time.monotonic()
    result = run_python(
        """
        import time
        from synchronaut_core import CallAnyTimeout, call_any
        try:
            call_any(time.sleep, 60, timeout=0.05)
        except CallAnyTimeout:
            print("timed out")
        """
    )
    assert result.stdout == "timed out\n"
    assert result.stderr == ""
    assert time.monotonic() - started < 10


def test_a_pinned_step_reaching_a_loop_that_began_shutting_down_is_refused_clearly() -> None:
    # An async generator driven from sync code belongs to the loop it started on. Its
    # next step queued on that loop just as shutdown() begins is refused with a clear
    # error -- not started after the loop's cancel sweep, to race its closing.
    from synchronaut_core import sync_iter

    async def numbers():
        for i in range(10):
            yield i

    release, holding = threading.Event(), threading.Event()

    async def hold() -> None:
        holding.set()
        release.wait(10)  # blocks the loop while the step and the shutdown queue up

    iterator = sync_iter(numbers())
    assert next(iterator) == 0  # pinned to the background loop now
    holder = threading.Thread(target=call_any, args=(hold,))
    holder.start()
    assert holding.wait(5)
    outcome: list[object] = []

    def step() -> None:
        try:
            outcome.append(next(iterator))
        except RuntimeError as exc:
            outcome.append(exc)

    stepper = threading.Thread(target=step)
    stepper.start()
    time.sleep(0.1)  # the step's start is queued on the blocked loop
    stopper = threading.Thread(target=shutdown)  # marks the loop closing at once
    stopper.start()
    time.sleep(0.1)
    release.set()
    for thread in (holder, stepper, stopper):
        thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], RuntimeError), outcome
    assert "event loop is shutting down" in str(outcome[0])
    with pytest.raises(StopIteration):
        next(iterator)  # the iteration is over
    assert call_any(asyncio.sleep, 0, "fresh loop") == "fresh loop"


async def _answer() -> int:
    return 42


@pytest.fixture
def made_loops(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every loop thread synchronaut creates during the test (after a shutdown())."""
    from synchronaut_core import _loop

    made: list[Any] = []

    class RecordedLoopThread(_loop._LoopThread):
        def __init__(self, name: str) -> None:
            super().__init__(name)
            made.append(self)

    shutdown()
    monkeypatch.setattr(_loop, "_LoopThread", RecordedLoopThread)
    return made


def test_a_loop_whose_start_is_interrupted_stops_instead_of_idling_forever(
    monkeypatch: pytest.MonkeyPatch, made_loops: list[Any]
) -> None:
    # Ctrl-C while the background loop's thread starts: the call fails with it, and
    # the half-started loop does not stay behind, unowned, in a thread of its own.
    from synchronaut_core import _loop

    # The loop factory is chosen once per process, on first use, in a thread of its own
    # (it may import uvloop): chosen now, so that the interrupt below lands in the loop
    # thread's start (found: run first in a worker, the test interrupted the choice).
    _loop._get_loop_factory()

    class InterruptedEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            raise KeyboardInterrupt  # lands in Thread.start(), once the thread exists

    monkeypatch.setattr(_loop.threading, "Event", InterruptedEvent)
    with pytest.raises(KeyboardInterrupt):
        call_any(_answer)
    monkeypatch.undo()
    assert len(made_loops) == 1

    # The loop is made by its own thread (no signal lands there), which closes it on
    # seeing it was abandoned -- or stops and closes it if it was running already.
    def closed() -> bool:
        loop = getattr(made_loops[0], "loop", None)
        return loop is not None and loop.is_closed()

    deadline = time.monotonic() + 5
    while not closed() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert closed()  # it was made, then stopped and closed, in its own thread
    assert call_any(_answer) == 42  # the next call gets a working loop


def test_a_loop_whose_thread_cannot_start_closes_and_the_error_reaches_the_caller(
    monkeypatch: pytest.MonkeyPatch, made_loops: list[Any]
) -> None:
    from synchronaut_core import _loop

    class NoThread(threading.Thread):
        def start(self) -> None:
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(_loop.threading, "Thread", NoThread)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        call_any(_answer)
    monkeypatch.undo()
    # No loop was made (its own thread makes it): none left unclosed, to warn when collected.
    assert getattr(made_loops[0], "loop", None) is None
    assert made_loops[0].stop(timeout=1) is True  # stopping a loop that never ran: no error
    assert call_any(_answer) == 42
