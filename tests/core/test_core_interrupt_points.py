"""Ctrl-C at every point where CPython can deliver it, in the pool and the blocking waits.

``support_faults.sweep`` runs a scenario once per interrupt point of the selected code
(function entries, returns from calls, loop back edges: where the eval loop runs
signal handlers), raising ``KeyboardInterrupt`` there; the same for a thread that
fails to start, at each thread start in turn. Each run must end with the job run (at
most once, exactly once if its submitter was told it was accepted) or a clear error:
never a hang, a lost job, a job run twice, a coroutine left running uncancelled or
never awaited. Threads switch every microsecond meanwhile.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import support_faults

from synchronaut_core import (
    CallCancelled,
    WorkerPool,
    _blocking,
    _call,
    _executor,
    _hosts,
    _job,
    _loop,
    _loop_calls,
    _placement,
    _pool,
    _waits,
    call_any,
    check_cancelled,
    sync_iter,
)

WAIT_CODE = [_waits, _loop_calls, _blocking, _placement, _call, _job, _executor, _hosts, _loop]

#: How long a check waits for the outcome of an interrupted run: a bound, not a delay.
BOUND = 10.0


pytestmark = pytest.mark.usefixtures("fast_switching")


@pytest.fixture
def no_coroutine_left_unawaited() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()
    assert [str(w.message) for w in caught] == []


def returns_within(fn: Callable[[], Any], bound: float = BOUND) -> Any:
    """``fn()`` in a daemon thread; fail (instead of hanging the run) past ``bound``."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    thread.start()
    thread.join(bound)
    assert not thread.is_alive(), f"{fn} hung"
    return box[0] if box else None


# --- the pool ------------------------------------------------------------------------


class Gate:
    """A job: counts its runs; optionally holds its worker until opened."""

    def __init__(self, hold: bool) -> None:
        self.runs = 0
        self.open = threading.Event()
        if not hold:
            self.open.set()

    def __call__(self) -> str:
        self.runs += 1
        self.open.wait(BOUND)
        return "ran"


class PoolRun:
    """One scenario run: a fresh pool, and what each of its submits did."""

    def __init__(self, size: int) -> None:
        self.pool = WorkerPool(size, "pool-under-sweep", idle_timeout=None)
        self.submitted: list[tuple[Gate, Future[str] | None]] = []

    def submit(self, hold: bool = False) -> Future[str]:
        gate = Gate(hold)
        self.submitted.append((gate, None))
        future = self.pool.submit(gate)
        self.submitted[-1] = (gate, future)
        return future

    def check(self) -> None:
        for gate, _ in self.submitted:
            gate.open.set()
        for gate, future in self.submitted:
            if future is not None and not future.cancelled():
                assert future.result(timeout=BOUND) == "ran"  # accepted: it runs
            else:
                deadline = time.monotonic() + 0.2
                while gate.runs == 0 and time.monotonic() < deadline:
                    time.sleep(0.01)
            assert gate.runs <= 1, "a job ran twice"
            if future is not None and future.cancelled():
                assert gate.runs == 0, "a cancelled job ran"
        # Still a working pool (or one that refuses work once shut down), and one that
        # shuts down without hanging.
        if self.pool._snapshot().closed:
            with pytest.raises(RuntimeError, match="after shutdown"):
                self.pool.submit(lambda: 5)
        else:
            assert self.pool.submit(lambda: 5).result(timeout=BOUND) == 5
        returns_within(lambda: self.pool.shutdown(wait=True))
        assert self.pool._snapshot().workers == 0


def sweep_pool(scenario: Callable[[PoolRun], object], size: int) -> list[str]:
    runs: list[PoolRun | None] = []

    def run() -> object:
        runs.append(None)  # interrupted while the pool is made: nothing to check
        runs[-1] = PoolRun(size)
        return scenario(runs[-1])

    def check(outcome: object) -> None:
        assert isinstance(outcome, (KeyboardInterrupt, str)), outcome
        last = runs[-1]
        if last is not None:
            last.check()

    # Our pool, and Thread.start (a Ctrl-C while a worker starts). Not the standard
    # library's Condition.wait under Future.result(): an interrupt inside its finally
    # breaks the future's own lock ("release unlocked lock"), whoever made the future.
    targets = [_pool, threading.Thread.start]
    return _unless_blind(
        lambda: support_faults.sweep(targets, run, check, stable=False, limit=2000)
    )


def _unless_blind(sweep: Callable[[], list[str]]) -> list[str]:
    """Run a sweep; if CPython stopped giving it opcode events, run it again fresh.

    On 3.12 code that an earlier sweep in this process instrumented can lose its
    opcode events (the injector detects it, see ``support_faults``); the count would
    be wrong and no retry in this process can help, so the test runs again, alone,
    in a new interpreter -- and must pass there.
    """
    try:
        return sweep()
    except RuntimeError as exc:
        if "gh-157900" not in str(exc) or os.environ.get("SYNCHRONAUT_SWEEP_FRESH"):
            raise
    node = os.environ["PYTEST_CURRENT_TEST"].rsplit(" ", 1)[0]
    env = dict(os.environ, SYNCHRONAUT_SWEEP_FRESH="1")
    env.pop("PYTEST_XDIST_WORKER", None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", node],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return ["(swept in a fresh interpreter)"] * 1000  # its own run checked the count


def test_ctrl_c_anywhere_while_submitting_to_a_cold_pool() -> None:
    covered = sweep_pool(lambda run: run.submit().result(timeout=BOUND), size=2)
    assert len(covered) >= 10


def test_ctrl_c_anywhere_while_handing_a_job_to_an_idle_worker() -> None:
    def scenario(run: PoolRun) -> str:
        run.submit().result(timeout=BOUND)
        deadline = time.monotonic() + BOUND
        while run.pool._snapshot().idle == 0:  # the worker parks
            assert time.monotonic() < deadline
            time.sleep(0.001)
        return run.submit().result(timeout=BOUND)

    assert len(sweep_pool(scenario, size=1)) >= 10


def test_ctrl_c_anywhere_while_queueing_behind_busy_workers() -> None:
    def scenario(run: PoolRun) -> str:
        run.submit(hold=True)
        queued = run.submit()  # the backlog
        run.submitted[0][0].open.set()
        return queued.result(timeout=BOUND)

    assert len(sweep_pool(scenario, size=1)) >= 10


def test_ctrl_c_anywhere_during_shutdown() -> None:
    def scenario(run: PoolRun) -> str:
        run.submit().result(timeout=BOUND)
        run.submit(hold=False)
        run.pool.shutdown(wait=True)
        return "ran"

    assert len(sweep_pool(scenario, size=2)) >= 10


@pytest.mark.parametrize("error", ["cannot-start", "ctrl-c"])
def test_each_thread_start_failing_in_turn_loses_no_job(error: str) -> None:
    make = (
        (lambda: RuntimeError("can't start new thread"))
        if error == "cannot-start"
        else (KeyboardInterrupt)
    )
    for n in range(6):
        run = PoolRun(3)
        with support_faults.failing_thread_start(n, make) as failure:
            outcomes = []
            for _ in range(4):
                try:
                    run.submit(hold=True)
                    outcomes.append("accepted")
                except (RuntimeError, KeyboardInterrupt):
                    outcomes.append("refused")
        run.check()
        assert outcomes.count("refused") == (1 if failure.fired else 0)


# --- the blocking waits ------------------------------------------------------------------


class Trace:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.finished = threading.Event()
        self.runs = 0


async def coroutine(trace: Trace, sensitive: bool) -> int:
    trace.started.set()
    trace.runs += 1
    try:
        await asyncio.sleep(0)
        if sensitive:
            return await call_any(lambda: 42, thread_sensitive=True)
        return 42
    finally:
        trace.finished.set()


def sync_job(trace: Trace) -> int:
    trace.started.set()
    trace.runs += 1
    try:
        for _ in range(5):
            check_cancelled()
            time.sleep(0.001)
        return 42
    except CallCancelled:
        return -1
    finally:
        trace.finished.set()


def sweep_waits(call: Callable[[Trace], object]) -> list[str]:
    traces: list[Trace] = []

    def run() -> object:
        traces.append(Trace())
        return call(traces[-1])

    def check(outcome: object) -> None:
        trace = traces[-1]
        assert isinstance(outcome, (KeyboardInterrupt, int)), outcome
        if outcome == 42:
            assert trace.runs == 1
        elif trace.started.is_set():
            # Interrupted after it started: it was cancelled or told, and ended.
            assert trace.finished.wait(BOUND), "interrupted work kept running"
        assert trace.runs <= 1
        # The bridge still serves.
        assert returns_within(lambda: call_any(coroutine, Trace(), False)) == 42

    call_any(coroutine, Trace(), False)  # the background loop runs before the sweep
    return _unless_blind(
        lambda: support_faults.sweep(WAIT_CODE, run, check, stable=False, limit=3000)
    )


@pytest.mark.parametrize("sensitive", [False, True], ids=["plain", "thread_sensitive"])
def test_ctrl_c_anywhere_while_sync_code_waits_for_a_coroutine(
    sensitive: bool, no_coroutine_left_unawaited: None
) -> None:
    covered = sweep_waits(lambda trace: call_any(coroutine, trace, sensitive))
    assert len(covered) >= 20


def test_ctrl_c_anywhere_while_sync_code_waits_for_an_offloaded_call(
    no_coroutine_left_unawaited: None,
) -> None:
    covered = sweep_waits(lambda trace: call_any(sync_job, trace, timeout=BOUND))
    assert len(covered) >= 20


def test_ctrl_c_anywhere_while_stepping_an_async_generator(
    no_coroutine_left_unawaited: None,
) -> None:
    async def numbers(trace: Trace) -> Any:
        trace.started.set()
        trace.runs += 1
        try:
            yield 40
            yield 2
        finally:
            trace.finished.set()

    def step_through(trace: Trace) -> int:
        with sync_iter(numbers(trace)) as items:
            return sum(items)

    assert len(sweep_waits(step_through)) >= 20
