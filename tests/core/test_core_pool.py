"""The worker pool: every accepted job runs exactly once, or its submitter gets an error.

Regression tests for the pool defects of the "No hang, no lost job" issue: a burst
followed by a quiet spell, a worker leaving on idle timeout as a job arrives, a
thread that fails to start, a submit racing shutdown. The hypothesis state machine
in ``test_core_pool_model.py`` searches the same space at random.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import wait

import pytest

from synchronaut_core import (
    WorkerPool,
    call_any,
    get_default_executor,
    set_default_executor,
    thread_sensitive_context,
)


def test_a_call_after_a_burst_and_a_quiet_spell_runs() -> None:
    pool = WorkerPool(2, idle_timeout=0.05)
    try:
        futures = [pool.submit(time.sleep, 0.05) for _ in range(3)]  # one more than workers
        wait(futures, timeout=5)
        time.sleep(0.2)  # every worker idles out
        assert pool._snapshot().workers == 0
        assert pool.submit(lambda: 1).result(timeout=5) == 1
    finally:
        pool.shutdown()


def test_the_default_pool_serves_after_a_burst_from_asyncio_and_a_quiet_spell() -> None:
    pool = WorkerPool(2, idle_timeout=0.05)
    set_default_executor(pool)
    try:

        async def main() -> int:
            await asyncio.gather(*(call_any(time.sleep, 0.05) for _ in range(pool.max_workers + 1)))
            await asyncio.sleep(0.2)
            return await asyncio.wait_for(call_any(int, 9), 5)

        assert asyncio.run(main()) == 9
    finally:
        set_default_executor(None)
        pool.shutdown()


def test_idle_count_matches_the_parked_workers_after_queued_work() -> None:
    pool = WorkerPool(2, idle_timeout=None)
    try:
        release = threading.Event()
        futures = [pool.submit(release.wait, 5) for _ in range(5)]  # 3 queued
        assert pool._snapshot().backlog == 3
        release.set()
        wait(futures, timeout=5)
        deadline = time.monotonic() + 5
        while pool._snapshot().idle != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        state = pool._snapshot()
        assert (state.idle, state.active, state.workers, state.backlog) == (2, 0, 2, 0)
    finally:
        pool.shutdown()


def test_a_job_submitted_as_a_worker_idles_out_is_never_stranded(fast_switching) -> None:
    pool = WorkerPool(1, idle_timeout=0.001)
    try:
        for round_ in range(300):
            time.sleep(0.001 * (round_ % 3))  # around the idle timeout
            assert pool.submit(lambda x=round_: x).result(timeout=5) == round_
    finally:
        pool.shutdown()


class _FailingStart:
    """Patch ``Thread.start`` to fail (or be interrupted) the next ``times`` times."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, error: type[BaseException], after: bool):
        self.remaining = 1
        self.error = error
        self.after = after  # interrupted after the thread really started
        real = threading.Thread.start

        def start(thread: threading.Thread) -> None:
            if self.remaining > 0 and thread.name.startswith("pool-under-test"):
                self.remaining -= 1
                if self.after:
                    real(thread)
                raise self.error("can't start new thread")
            real(thread)

        monkeypatch.setattr(threading.Thread, "start", start)


@pytest.mark.parametrize(
    ("error", "after"),
    [(RuntimeError, False), (KeyboardInterrupt, False), (KeyboardInterrupt, True)],
    ids=["cannot-start", "ctrl-c-before-start", "ctrl-c-while-starting"],
)
def test_a_failed_thread_start_leaves_no_ghost_and_never_runs_its_job(
    monkeypatch, error, after
) -> None:
    pool = WorkerPool(1, "pool-under-test", idle_timeout=None)
    ran: list[str] = []
    _FailingStart(monkeypatch, error, after)
    with pytest.raises(error):
        pool.submit(ran.append, "refused")
    # The pool works: the next submit starts a real worker and runs.
    assert pool.submit(ran.append, "accepted").result(timeout=5) is None
    time.sleep(0.05)  # a retracted thread that did start has ended by now
    assert ran == ["accepted"]  # the refused job never ran, the other ran once
    assert pool._snapshot().workers == 1
    pool.shutdown(wait=True)  # no "cannot join thread before it is started"
    assert pool._snapshot().workers == 0


def test_a_thread_sensitive_call_works_after_its_thread_failed_to_start(monkeypatch) -> None:
    from synchronaut_core._thread_pin import _ThreadPin

    real = threading.Thread.start
    failures = [1]

    def start(thread: threading.Thread) -> None:
        if failures and thread.name == "pin-under-test":
            failures.pop()
            raise RuntimeError("can't start new thread")
        real(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    pin = _ThreadPin("pin-under-test")
    calls: list[int] = []

    async def main() -> None:
        from synchronaut_core._asyncio import _offload

        with pytest.raises(RuntimeError, match="can't start new thread"):
            await _offload(calls.append, (1,), {}, None, pin, "append")
        await _offload(calls.append, (2,), {}, None, pin, "append")

    asyncio.run(main())
    pin.release()
    assert calls == [2]


def test_submits_racing_shutdown_run_or_are_refused(fast_switching) -> None:
    for _ in range(50):
        pool = WorkerPool(2, idle_timeout=None)
        outcomes: list[str] = []
        ran: list[int] = []
        start = threading.Barrier(5)

        def submitter(
            pool: WorkerPool = pool,
            outcomes: list[str] = outcomes,
            ran: list[int] = ran,
            start: threading.Barrier = start,
        ) -> None:
            start.wait()
            for i in range(20):
                try:
                    future = pool.submit(ran.append, i)
                except RuntimeError:
                    outcomes.append("refused")
                else:
                    future.result(timeout=5)  # accepted: it runs
                    outcomes.append("ran")

        threads = [threading.Thread(target=submitter) for _ in range(4)]
        for thread in threads:
            thread.start()
        start.wait()
        pool.shutdown(wait=False)
        for thread in threads:
            thread.join(10)
        assert not any(thread.is_alive() for thread in threads)
        assert len(outcomes) == 80
        assert len(ran) == outcomes.count("ran")
        pool.shutdown(wait=True)


def test_calls_racing_set_default_executor_all_run(fast_switching) -> None:
    stop = threading.Event()
    results: list[int] = []
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            while not stop.is_set():
                results.append(call_any(int, 7, force_offload=True))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(50):
            set_default_executor(None)  # our pool is shut down and replaced
            time.sleep(0.002)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert errors == []
    assert results and set(results) == {7}
    assert get_default_executor() is not None


def test_thread_sensitive_calls_after_their_block_ended_are_refused_not_lost() -> None:
    outcome: list[object] = []
    later = asyncio.Event()

    def where() -> str:
        return threading.current_thread().name

    async def outlives_the_block() -> None:
        await later.wait()
        try:
            outcome.append(await call_any(where, thread_sensitive=True))
        except RuntimeError as exc:
            outcome.append(exc)

    async def main() -> None:
        async with thread_sensitive_context():
            inside = await call_any(where, thread_sensitive=True)
            task = asyncio.ensure_future(outlives_the_block())
        later.set()
        await asyncio.wait_for(task, 5)
        assert inside.startswith("synchronaut-sensitive-block")

    asyncio.run(main())
    assert len(outcome) == 1
    assert isinstance(outcome[0], RuntimeError)
    assert "thread_sensitive_context() block it was made in has ended" in str(outcome[0])


def test_repr_and_snapshot_say_what_the_pool_holds() -> None:
    pool = WorkerPool(3, "pool-repr", idle_timeout=None)
    try:
        pool.submit(int).result(timeout=5)
        assert repr(pool) == "<WorkerPool 'pool-repr' running, 1/3 workers>"
    finally:
        pool.shutdown()
    assert "shut down" in repr(pool)
    assert pool._snapshot().closed
