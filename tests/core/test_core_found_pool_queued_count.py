"""Ctrl-C right after a job is appended to the backlog left the pool's queued count wrong.

Found by review of 013c21c (a job submitted while a worker idles goes to the backlog for
whichever worker is free first): ``_assign`` appended the job, *then* counted it
(``self._queued += 1``), and an interrupt lands after a call -- right after
``self._backlog.append(entry)``. The job was queued but not counted; the woken worker
took it and ``_queued`` went to -1 for good (``_snapshot().backlog == -1`` on an idle
pool), so every later "is work queued?" check read one job short. The queueing behind
busy workers in ``_run_job`` had the same order (before 013c21c too). Both now count
first, with no call in between.

The sweep interrupts each scenario at every interrupt point of the pool (as
``test_core_interrupt_points.py`` does) and checks the bookkeeping once the pool is
quiet: nothing queued, no slot held, every worker idle.
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


class Run:
    """One scenario run: a fresh pool, the gates of the jobs it was given, their futures."""

    def __init__(self, size: int) -> None:
        self.pool = WorkerPool(size, "pool-queued-count", idle_timeout=None)
        self.gates: list[threading.Event] = []
        self.futures: list[Future[int]] = []

    def submit(self, hold: bool = False) -> Future[int]:
        gate = threading.Event()
        if not hold:
            gate.set()
        self.gates.append(gate)
        future = self.pool.submit(lambda: int(gate.wait(BOUND)))
        self.futures.append(future)
        return future

    def wait_idle(self, count: int) -> None:
        # Reads the list itself: _snapshot() is pool code, and polling it would add a
        # varying number of interrupt points to the sweep.
        deadline = time.monotonic() + BOUND
        while len(self.pool._idle) < count:  # pyright: ignore[reportPrivateUsage]
            assert time.monotonic() < deadline
            time.sleep(0.001)


def idle_handoff(run: Run) -> object:
    run.submit().result(timeout=BOUND)
    run.wait_idle(1)
    return run.submit().result(timeout=BOUND)


def behind_a_busy_worker(run: Run) -> object:
    run.submit(hold=True)
    queued = run.submit()
    run.gates[0].set()
    return queued.result(timeout=BOUND)


@pytest.mark.parametrize("scenario", [idle_handoff, behind_a_busy_worker])
def test_an_interrupted_submit_leaves_the_queued_count_exact(
    scenario: Callable[[Run], object],
) -> None:
    runs: list[Run | None] = []

    def run() -> object:
        runs.append(None)
        runs[-1] = Run(1)
        return scenario(runs[-1])  # type: ignore[arg-type]

    def check(outcome: object) -> None:
        assert isinstance(outcome, (KeyboardInterrupt, int)), outcome
        last = runs[-1]
        if last is None:
            return
        for gate in last.gates:
            gate.set()
        for future in last.futures:
            if not future.cancelled():
                assert future.result(timeout=BOUND) == 1
        deadline = time.monotonic() + BOUND
        while True:
            state = last.pool._snapshot()  # pyright: ignore[reportPrivateUsage]
            if state.active == 0 and state.idle == state.workers:
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.001)
        assert state.backlog == 0, state
        last.pool.shutdown(wait=True)

    covered = support_faults.sweep(
        [_pool, threading.Thread.start], run, check, stable=False, limit=2000
    )
    assert len(covered) >= 10
