"""The worker pool against a model: random submit / finish / idle / shutdown / fork /
failing-start sequences, its invariants checked after every step.

Invariants: the idle count equals the workers really parked; busy plus idle workers
are all the workers; every accepted job runs exactly once (at most once meanwhile,
exactly once by the end), a refused one never; nothing is accepted after shutdown.
Threads switch every microsecond meanwhile, so interleavings vary from run to run.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from synchronaut_core import WorkerPool, _pool

#: How long a "quiet spell" lasts, against the pool's idle timeout.
IDLE_TIMEOUT = 0.01


class Job:
    """A job that records each run and then holds its worker until released."""

    def __init__(self, ident: int) -> None:
        self.ident = ident
        self.runs = 0
        self.release = threading.Event()

    def __call__(self) -> int:
        self.runs += 1
        self.release.wait(30)
        return self.ident


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[Job] = []
        self.accepted: list[Job] = []
        self.refused: list[Job] = []
        self.closed = False
        self.previous_interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)

    @initialize(size=st.integers(1, 4))
    def make_pool(self, size: int) -> None:
        self.size = size
        self.pool = WorkerPool(size, "pool-model", idle_timeout=IDLE_TIMEOUT)

    def _new_job(self) -> Job:
        job = Job(len(self.jobs))
        self.jobs.append(job)
        return job

    def _submit(self, job: Job, expect_refusal: bool = False) -> None:
        try:
            self.pool.submit(job)
        except RuntimeError:
            assert self.closed or expect_refusal
            self.refused.append(job)
        except KeyboardInterrupt:
            assert expect_refusal
            self.refused.append(job)
        else:
            assert not self.closed, "accepted after shutdown"
            self.accepted.append(job)

    @rule()
    def submit(self) -> None:
        self._submit(self._new_job())

    @rule()
    def submit_quick(self) -> None:
        # A job that returns at once: its worker goes straight back to idle.
        job = self._new_job()
        job.release.set()
        self._submit(job)

    @rule(error=st.sampled_from(["cannot-start", "ctrl-c-before", "ctrl-c-after-start"]))
    def submit_with_failing_start(self, error: str) -> None:
        real = threading.Thread.start
        armed = [True]

        def start(thread: threading.Thread) -> None:
            if armed and thread.name.startswith("pool-model"):
                armed.clear()
                if error == "ctrl-c-after-start":
                    real(thread)
                    raise KeyboardInterrupt
                if error == "ctrl-c-before":
                    raise KeyboardInterrupt
                raise RuntimeError("can't start new thread")
            real(thread)

        threading.Thread.start = start  # type: ignore[method-assign]
        try:
            self._submit(self._new_job(), expect_refusal=True)
        finally:
            threading.Thread.start = real  # type: ignore[method-assign]

    # Preconditions read the model only (never the threads' progress), so hypothesis
    # can replay and shrink a failing sequence.
    # (Over every job made, refused ones included: whether a submit was refused
    # depends on timing, which must not decide what hypothesis draws next.)
    @precondition(lambda self: any(not j.release.is_set() for j in self.jobs))
    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        holding = [j for j in self.jobs if not j.release.is_set()]
        data.draw(st.sampled_from(holding)).release.set()  # running, queued or refused

    @rule()
    def quiet_spell(self) -> None:
        time.sleep(IDLE_TIMEOUT * 3)  # idle workers time out meanwhile

    @rule()
    def shutdown(self) -> None:
        self.pool.shutdown(wait=False)
        self.closed = True

    @precondition(lambda self: hasattr(os, "fork"))
    @rule()
    def fork(self) -> None:
        # In the child: the parent's workers are gone, their jobs fail, and the pool
        # (unless shut down) serves new work; the parent goes on as if nothing happened.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
            pid = os.fork()
        if pid == 0:
            code = 1
            try:
                state = self.pool._snapshot()
                assert (state.idle, state.active, state.workers, state.backlog) == (0, 0, 0, 0)
                if not self.closed:
                    assert self.pool.submit(lambda: 7).result(timeout=10) == 7
                code = 0
            finally:
                os._exit(code)
        deadline = time.monotonic() + 30
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                assert os.waitstatus_to_exitcode(status) == 0
                return
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                raise AssertionError("forked child hung")
            time.sleep(0.005)

    @invariant()
    def bookkeeping_matches_the_threads(self) -> None:
        pool: Any = self.pool
        with pool._lock:
            idle = list(pool._idle)
            workers = list(pool._workers)
            active = pool._active
            backlog = pool._queued
            # (A worker told to stop by shutdown holds _STOP, not a job, until it goes.)
            busy = [w for w in workers if w.job is not None and w.job is not _pool._STOP]
            # (No call here is nested under a blocked worker: no slot is lent.)
            assert all(w.lender is None for w in workers)
            parked = [w for w in idle if w.wake.locked() and w.job is None]
            stopping = [w for w in workers if w.job is _pool._STOP]
            # (Woken for the backlog's first job, not holding it yet: see _assign.)
            taking = [w for w in workers if w.job is _pool._TAKE]
            # (Under the lock: a worker leaves _idle, under it, before its thread ends.)
            idle_alive = all(w.thread.is_alive() for w in idle)
        # The idle count is the workers really parked: alive, waiting on their lock,
        # holding no job.
        assert len(parked) == len(idle)
        assert idle_alive
        assert all(w in workers for w in idle)
        # Every worker is busy, idle or stopping; the count of busy ones is exact.
        assert len(idle) + len(busy) + len(stopping) == len(workers)
        assert active == len(busy)
        assert active <= self.size
        # Each queued job has a worker coming for it: one woken for it on a slot
        # counted for it, or the first busy worker to finish (then every slot is busy).
        if backlog > len(taking):
            assert active == self.size, "work queued while a slot is free"
            assert not idle, "work queued while a worker idles"

    @invariant()
    def jobs_run_at_most_once_and_refused_ones_never(self) -> None:
        assert all(job.runs <= 1 for job in self.jobs)
        assert all(job.runs == 0 for job in self.refused)

    def teardown(self) -> None:
        try:
            for job in self.jobs:
                job.release.set()
            deadline = time.monotonic() + 10
            while any(job.runs == 0 for job in self.accepted) and time.monotonic() < deadline:
                time.sleep(0.005)
            assert [job.ident for job in self.accepted if job.runs != 1] == []
            assert all(job.runs == 0 for job in self.refused)
            # Bounded, so that a worker the pool lost track of fails the test here
            # instead of hanging shutdown(wait=True).
            self.pool.shutdown(wait=False)
            threads = [w.thread for w in list(self.pool._workers)]
            for thread in threads:
                thread.join(10)
            assert not [t for t in threads if t.is_alive()], "workers did not end"
            assert self.pool._snapshot().workers == 0, "a worker left without telling the pool"
        finally:
            sys.setswitchinterval(self.previous_interval)


def test_the_pool_matches_its_model(request: pytest.FixtureRequest) -> None:
    long = (
        request.config.getoption("--stress-long") or os.environ.get("SYNCHRONAUT_STRESS") == "long"
    )
    machine_settings = settings(
        max_examples=1000 if long else 60,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    run_state_machine_as_test(PoolMachine, settings=machine_settings)
