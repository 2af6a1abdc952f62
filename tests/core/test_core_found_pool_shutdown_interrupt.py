"""Ctrl-C inside ``shutdown(cancel_futures=True)`` lost the jobs it had taken but not cancelled.

Found by review of 013c21c (shutdown while woken ``_TAKE`` workers are on their way to
the backlog), though older than it: ``shutdown`` took every queued job from the backlog
under the lock into a local list, then cancelled them one by one outside it. An
interrupt after the first take, or between two cancels, left the rest in that list
only: never run, never cancelled -- their futures (and a synchronaut caller waiting on
such a job) waited forever, and a second ``shutdown`` call did not help. Now the jobs
go from the backlog to the pool's ``_doomed`` queue with no call in between, each one
dropped from there only once cancelled; what an interrupt leaves there the next
shutdown call, or a worker leaving the closed pool, cancels.

The sweep interrupts each scenario at every interrupt point of the pool: every
accepted job then runs exactly once or is cancelled, without a second shutdown call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

import pytest
import support_faults

from synchronaut_core import WorkerPool, _pool

pytestmark = pytest.mark.usefixtures("fast_switching")

BOUND = 10.0


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


class Run:
    def __init__(self, size: int) -> None:
        self.pool = WorkerPool(size, "pool-shutdown-interrupt", idle_timeout=None)
        self.jobs: list[tuple[Gate, Future[str] | None]] = []

    def submit(self, hold: bool = False) -> None:
        gate = Gate(hold)
        self.jobs.append((gate, None))
        self.jobs[-1] = (gate, self.pool.submit(gate))

    def wait_idle(self, count: int) -> None:
        # Reads the list itself: polling _snapshot() (pool code) would add a varying
        # number of interrupt points to the sweep.
        deadline = time.monotonic() + BOUND
        while len(self.pool._idle) < count:  # pyright: ignore[reportPrivateUsage]
            assert time.monotonic() < deadline
            time.sleep(0.001)

    def check(self) -> None:
        for gate, _ in self.jobs:
            gate.open.set()
        for gate, future in self.jobs:
            if future is None:
                # Its submit was interrupted: taken back, unless a worker had started
                # it already (an interrupt can come just after the work began).
                assert gate.runs <= 1
                continue
            deadline = time.monotonic() + BOUND
            while not future.done():  # settled without a second shutdown call
                assert time.monotonic() < deadline, "a job neither ran nor was cancelled"
                time.sleep(0.001)
            if future.cancelled():
                assert gate.runs == 0, "a cancelled job ran"
            else:
                assert future.result() == "ran"
                assert gate.runs == 1


def while_woken_workers_come(run: Run) -> object:
    # Two idle workers, each woken for a job of the backlog (_TAKE), then a third
    # job behind them; shut down at once.
    run.submit()
    run.submit()
    run.wait_idle(1)
    run.submit()
    run.submit()
    run.submit()
    run.pool.shutdown(wait=True, cancel_futures=True)
    return "done"


def behind_busy_workers(run: Run) -> object:
    run.submit(hold=True)
    run.submit(hold=True)
    run.submit()
    run.submit()
    run.pool.shutdown(wait=False, cancel_futures=True)
    for gate, _ in run.jobs:
        gate.open.set()
    return "done"


@pytest.mark.parametrize("scenario", [while_woken_workers_come, behind_busy_workers])
def test_an_interrupted_shutdown_cancelling_the_backlog_loses_no_job(
    scenario: Callable[[Run], object],
) -> None:
    runs: list[Run | None] = []

    def run() -> object:
        runs.append(None)
        runs[-1] = Run(2)
        return scenario(runs[-1])  # type: ignore[arg-type]

    def check(outcome: object) -> None:
        assert isinstance(outcome, (KeyboardInterrupt, str)), outcome
        last = runs[-1]
        if last is None:
            return
        last.check()
        last.pool.shutdown(wait=True)
        assert last.pool._snapshot().workers == 0  # pyright: ignore[reportPrivateUsage]

    covered = support_faults.sweep(
        [_pool, threading.Thread.start], run, check, stable=False, limit=3000
    )
    assert any("shutdown" in point for point in covered)
