"""Thread fan-in: 1, 8 and 32 plain threads each making sync -> async calls at once.

What a threaded server or a worker pool does when its sync code calls async code:
every thread blocks on a coroutine that runs on one event loop. Each thread records
the latency of each of its calls; a run reports calls/s (all calls over the wall time
from the start barrier to the last thread's end) and the p99 latency over every call
of the run. The ways: synchronaut's ``call_any(af, x)`` (the shared background loop),
the floor ``asyncio.run_coroutine_threadsafe(coro, loop).result()`` to one loop
already running in a thread of its own (the same loop type), anyio's blocking portal
(one loop, ``portal.call``) and asgiref's ``async_to_sync`` (a new loop per call from
a plain thread: ~0.7 ms a call here, so it makes fewer calls, see ``ASGIREF_CALLS``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import _env
from _env import LoopThread
from _harness import Case, Group, Interleaved, Settings, at_most, extra_target

from synchronaut_core import call_any

RCTS = "run_coroutine_threadsafe"
OURS = "call_any(af, x)"
PORTAL = "anyio BlockingPortal.call"
ASGIREF = "asgiref async_to_sync"
CALLS = 2_000  # per thread (the figure)
ASGIREF_CALLS = 100  # per thread: at 0.7 ms a call, 2 000 x 32 would take 45 s a round


async def af(x: int) -> int:
    return x


def _percentile(sorted_ns: list[int], q: float) -> float:
    return float(sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))])


def fan_in(call: Callable[[], object], threads: int, calls: int) -> tuple[float, dict[str, float]]:
    """``threads`` threads, released together, each making ``calls`` calls.

    Returns (wall ns per call, {"calls_s", "p50_us", "p99_us"}). Each thread keeps
    its own list of latencies (no shared state while timing).
    """
    barrier = threading.Barrier(threads + 1)
    latencies: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    perf = time.perf_counter_ns

    def worker(mine: list[int]) -> None:
        barrier.wait()
        try:
            for _ in range(calls):
                t0 = perf()
                call()
                mine.append(perf() - t0)
        except BaseException as exc:
            errors.append(exc)

    pool = [
        threading.Thread(target=worker, args=(mine,), daemon=True, name=f"fan-in-{i}")
        for i, mine in enumerate(latencies)
    ]
    for thread in pool:
        thread.start()
    barrier.wait()
    t0 = perf()
    for thread in pool:
        thread.join()
    wall = perf() - t0
    if errors:
        raise errors[0]
    every = sorted(ns for mine in latencies for ns in mine)
    total = threads * calls
    return wall / total, {
        "calls_s": total / (wall / 1e9),
        "p50_us": _percentile(every, 0.50) / 1e3,
        "p99_us": _percentile(every, 0.99) / 1e3,
    }


def _show(extra: dict[str, Any]) -> str:
    text = f"{extra['calls_s']:,.0f} calls/s, p50 {extra['p50_us']:.0f} us"
    text += f", p99 {extra['p99_us']:.0f} us"
    if "p99_us_x" in extra:
        text += f" (p99 {extra['p99_us_x']:.2f}x floor)"
    return text


def _ways(
    stack: ExitStack, settings: Settings
) -> dict[str, tuple[Callable[[], object] | None, str]]:
    """name -> (one call, why it cannot run); the floor first."""
    floor_loop = stack.enter_context(LoopThread(settings.loop)).loop
    rcts = asyncio.run_coroutine_threadsafe
    ways: dict[str, tuple[Callable[[], object] | None, str]] = {
        RCTS: (lambda: rcts(af(1), floor_loop).result(), ""),
        OURS: (lambda: call_any(af, 1), ""),
    }
    if _env.anyio_from_thread is None:
        ways[PORTAL] = (None, _env.missing("anyio"))
    else:
        portal = stack.enter_context(
            _env.anyio_from_thread.start_blocking_portal(
                "asyncio", backend_options={"use_uvloop": settings.loop == "uvloop"}
            )
        )
        ways[PORTAL] = (lambda: portal.call(af, 1), "")
    if _env.asgiref_sync is None:
        ways[ASGIREF] = (None, _env.missing("asgiref"))
    else:
        a2s = _env.asgiref_sync.async_to_sync(af)
        ways[ASGIREF] = (lambda: a2s(1), "")
    return ways


def _group(threads: int) -> Callable[[Settings], Any]:
    @contextmanager
    def build(settings: Settings) -> Iterator[list[Case]]:
        # Quick: a tenth of the calls, one round; full: the 2 000 calls, 3 rounds.
        calls = CALLS // 10 if settings.quick else CALLS
        slow_calls = ASGIREF_CALLS // 5 if settings.quick else ASGIREF_CALLS
        with ExitStack() as stack:
            ways = _ways(stack, settings)
            call_any(af, 1)  # starts synchronaut's background loop, outside the clock
            sizes = {name: slow_calls if name == ASGIREF else calls for name in ways}
            live = {name: call for name, (call, _) in ways.items() if call is not None}

            def run(name: str, share: int = 1) -> tuple[float, dict[str, float]]:
                return fan_in(live[name], threads, max(1, sizes[name] // share))

            runner = Interleaved(
                {name: (lambda name=name: run(name)) for name in live},
                rounds=1 if settings.quick else 3,
                floor=RCTS,
                # A tenth of a run of each way first: pools, loops and portals are warm.
                warmup=lambda name: run(name, 10),
                show=_show,
            )
            targets = []
            if threads == 32:
                targets = [
                    at_most(1.0, label=">=floor calls/s"),
                    at_most(0.5, PORTAL, ">=2x portal"),
                    extra_target("p99_us", 1.0, "p99<=floor"),
                ]
            cases: list[Case] = []
            for name, (call, na) in ways.items():
                note = f"{sizes[name]} calls per thread (the others: {calls})"
                cases.append(
                    Case(
                        name,
                        floor=name == RCTS,
                        synchronaut=name == OURS,
                        na=na,
                        measure=runner.measure(name) if call is not None else None,
                        targets=targets if name == OURS else [],
                        note=note if name == ASGIREF else "",
                    )
                )
            yield cases

    return build


GROUPS = [
    Group(f"fan-in-{threads}", f"thread fan-in: {threads} threads, sync -> async", _group(threads))
    for threads in (1, 8, 32)
]
