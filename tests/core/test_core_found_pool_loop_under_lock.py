"""Python 3.13: a Ctrl-C on a loop's back edge inside ``with self._lock:`` left the lock held.

Found on 3.13.0 by the interrupt sweep of ``test_core_found_pool_shutdown_interrupt``
(it hung now and then): CPython 3.13 leaves the back edge of some loops inside a
``with`` block out of the block's exception table (CPython gh-130279: a ``while``
whose test the compiler repeats at the bottom, a ``for`` whose ``if`` body is
skipped), and the eval loop checks for signals on back edges -- so a KeyboardInterrupt
landing there left ``shutdown``'s ``with self._lock:`` without ``__exit__`` (checked
with real SIGINTs too: 199 of 200 on a plain ``while`` inside ``with lock:``). The
pool's lock stayed held: every worker, every later submit and a second ``shutdown``
(an exit hook's) waited forever. Reachable in plain use: ``while idle:`` stopped the
idle workers one by one (two idle workers suffice); ``_run_job``'s loops over the lent
slots had the same shape. Those loops now run in functions of their own, out of the
``with``'s frame: an interrupt there leaves through the call, which the ``with`` covers.
"""

from __future__ import annotations

import dis
import sys
import threading
import time
import types

import pytest
import support_faults

from synchronaut_core import WorkerPool, _pool

pytestmark = pytest.mark.usefixtures("fast_switching")

BOUND = 10.0

#: What the main thread runs (Ctrl-C lands there), under the pool's lock or around it.
INTERRUPTIBLE = [
    WorkerPool.submit,
    WorkerPool._run_job,  # pyright: ignore[reportPrivateUsage]
    WorkerPool._assign,  # pyright: ignore[reportPrivateUsage]
    WorkerPool._start_worker,  # pyright: ignore[reportPrivateUsage]
    WorkerPool.shutdown,
    WorkerPool._cancel_doomed,  # pyright: ignore[reportPrivateUsage]
    WorkerPool._snapshot,  # pyright: ignore[reportPrivateUsage]
]


def _escaping_back_edges(code: types.CodeType) -> list[int]:
    """Offsets of back edges outside the exception table, looping to code inside it."""
    entries = dis.Bytecode(code).exception_entries
    inside = lambda offset: any(e.start <= offset < e.end for e in entries)  # noqa: E731
    return [
        ins.offset
        for ins in dis.get_instructions(code)
        if ins.opname == "JUMP_BACKWARD" and not inside(ins.offset) and inside(ins.argval)
    ]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="3.10 has no exception tables")
@pytest.mark.parametrize("function", INTERRUPTIBLE, ids=lambda f: f.__name__)
def test_no_loop_back_edge_under_the_lock_escapes_its_with(function: types.FunctionType) -> None:
    assert _escaping_back_edges(function.__code__) == []


def test_an_interrupt_while_shutdown_stops_idle_workers_leaves_the_lock_free() -> None:
    runs: list[WorkerPool | None] = []
    gates: list[threading.Event] = []

    def scenario() -> object:
        runs.append(None)
        pool = runs[-1] = WorkerPool(2, "pool-loop-under-lock", idle_timeout=None)
        # Two workers (the first holds its job while the second starts), both idle.
        gate = threading.Event()
        gates.append(gate)
        first = pool.submit(gate.wait, BOUND)
        second = pool.submit(gate.wait, BOUND)
        gate.set()
        first.result(timeout=BOUND)
        second.result(timeout=BOUND)
        deadline = time.monotonic() + BOUND
        while len(pool._idle) < 2:  # pyright: ignore[reportPrivateUsage]
            assert time.monotonic() < deadline
            time.sleep(0.001)
        pool.shutdown(wait=True)
        return "done"

    def check(outcome: object) -> None:
        assert isinstance(outcome, (KeyboardInterrupt, str)), outcome
        pool = runs[-1]
        if pool is None:
            return
        for gate in gates:
            gate.set()
        lock = pool._lock  # pyright: ignore[reportPrivateUsage]
        assert lock.acquire(timeout=BOUND), "the pool's lock was left held"
        lock.release()
        done = threading.Event()
        threading.Thread(target=lambda: (pool.shutdown(wait=True), done.set()), daemon=True).start()
        assert done.wait(BOUND), "a second shutdown hung"
        assert pool._snapshot().workers == 0  # pyright: ignore[reportPrivateUsage]

    covered = support_faults.sweep([_pool, threading.Thread.start], scenario, check, stable=False)
    assert any("_stop_idle" in point and "back edge" in point for point in covered), covered
