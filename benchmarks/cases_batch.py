"""``parallel_map`` against the hand-written batch a user would write instead.

- 1 000 sync calls from sync code, against ``ThreadPoolExecutor.map`` (a warm pool
  of the same size as synchronaut's);
- 10 000 mixed calls (even: a ``def``, odd: an ``async def`` that yields once) inside
  asyncio, against ``asyncio.gather`` of ``run_in_executor`` futures and coroutines;
- the same inside Trio, against a nursery of ``trio.to_thread.run_sync`` and
  coroutines; plus a check that a Trio batch really runs concurrently (40 calls that
  each sleep 50 ms must take about 50 ms, not 2 s);
- (batches of 1 k to 1 M calls in fresh processes, time and memory: ``cases_million``).

The batch's input list is built once, outside the clock; figures are ns per call.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import _env
from _env import event_loop, run_timed
from _harness import (
    Case,
    Group,
    Settings,
    Target,
    async_probe,
    at_most,
    probe_callee,
    sync_probe,
)

MEMCHILD = Path(__file__).with_name("_memchild.py")
NO_BATCH = "synchronaut-batch (parallel_map) is not importable"
# The standard library's default pool size, which synchronaut's pool uses too.
WORKERS = min(32, (os.cpu_count() or 1) + 4)


def f(x: int) -> int:
    return x


async def asleep(x: int) -> int:
    await asyncio.sleep(0)
    return x


def _mixed(count: int, async_func: Any) -> tuple[list[Any], list[bool]]:
    calls = [(f if i % 2 == 0 else async_func, (i,), {}, None) for i in range(count)]
    return calls, [i % 2 == 0 for i in range(count)]


def _one(pmap: Any) -> Callable[[], Any]:
    """A batch of one probe call, for ``async_probe``: its result is the callee's."""

    async def call() -> Any:
        return (await pmap([(probe_callee, (), {}, None)]))[0]

    return call


def _check(results: list[Any], count: int) -> None:
    if len(results) != count or results[-1] != count - 1:
        raise RuntimeError("wrong results")


# --- 1 000 sync calls from sync code ---------------------------------------------------


@contextmanager
def _sync(settings: Settings) -> Iterator[list[Case]]:
    count = 1_000
    calls = [(f, (i,), {}, None) for i in range(count)]
    inputs = range(count)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:

        def floor(n: int) -> int:
            t0 = time.perf_counter_ns()
            for _ in range(n):
                _check(list(pool.map(f, inputs)), count)
            return time.perf_counter_ns() - t0

        cases = [Case("ThreadPoolExecutor.map (warm)", floor, per_op=count, floor=True, ctx="none")]
        pmap = _env.parallel_map()
        if pmap is None:
            cases.append(Case("parallel_map (sync caller)", na=NO_BATCH))
        else:

            def ours(n: int) -> int:
                t0 = time.perf_counter_ns()
                for _ in range(n):
                    _check(pmap(calls), count)
                return time.perf_counter_ns() - t0

            cases.append(
                Case(
                    "parallel_map (sync caller)",
                    ours,
                    per_op=count,
                    synchronaut=True,
                    note="sync code: the batch runs on the background loop, sync calls in the pool",
                    probe=sync_probe(lambda fn: pmap([(fn, (), {}, None)])[0]),
                )
            )
        yield cases


# --- 10 000 mixed calls in asyncio -----------------------------------------------------


@contextmanager
def _asyncio(settings: Settings) -> Iterator[list[Case]]:
    count = 10_000
    calls, is_sync = _mixed(count, asleep)
    with ExitStack() as stack:
        loop = stack.enter_context(event_loop(settings.loop))

        async def floor(n: int) -> int:
            run = loop.run_in_executor
            t0 = time.perf_counter_ns()
            for _ in range(n):
                results = await asyncio.gather(
                    *[
                        run(None, func, *args) if sync else func(*args)
                        for (func, args, _, _), sync in zip(calls, is_sync, strict=True)
                    ]
                )
                _check(results, count)
            return time.perf_counter_ns() - t0

        cases = [
            Case(
                f"asyncio.gather ({settings.loop})",
                run_timed(loop, floor),
                per_op=count,
                floor=True,
                ctx="none",
                note="gather of run_in_executor futures (default pool) and coroutines",
            )
        ]
        pmap = _env.parallel_map()
        if pmap is None:
            cases.append(Case("await parallel_map(calls)", na=NO_BATCH))
            cases.append(Case("await parallel_map(max_concurrency=100)", na=NO_BATCH))
        else:
            for name, limit, targets in (
                ("await parallel_map(calls)", None, [at_most(1.2)]),
                ("await parallel_map(max_concurrency=100)", 100, []),
            ):

                async def ours(n: int, limit: int | None = limit) -> int:
                    t0 = time.perf_counter_ns()
                    for _ in range(n):
                        _check(await pmap(calls, max_concurrency=limit), count)
                    return time.perf_counter_ns() - t0

                cases.append(
                    Case(
                        name,
                        run_timed(loop, ours),
                        per_op=count,
                        synchronaut=True,
                        targets=targets,
                        probe=lambda: loop.run_until_complete(async_probe(_one(pmap))),
                    )
                )
        yield cases


# --- Trio --------------------------------------------------------------------------------


def _trio_floor(trio: Any, calls: list[Any], is_sync: list[bool]) -> Callable[[int], int]:
    count = len(calls)
    to_thread = trio.to_thread.run_sync

    async def inner(n: int) -> int:
        results: list[Any] = [None] * count

        async def run_sync(i: int, func: Any, args: tuple[Any, ...]) -> None:
            results[i] = await to_thread(func, *args)

        async def run_async(i: int, func: Any, args: tuple[Any, ...]) -> None:
            results[i] = await func(*args)

        t0 = time.perf_counter_ns()
        for _ in range(n):
            async with trio.open_nursery() as nursery:
                for i, ((func, args, _, _), sync) in enumerate(zip(calls, is_sync, strict=True)):
                    nursery.start_soon(run_sync if sync else run_async, i, func, args)
            _check(results, count)
        return time.perf_counter_ns() - t0

    return lambda n: trio.run(inner, n)


def _trio_ours(trio: Any, pmap: Any, calls: list[Any]) -> Callable[[int], int]:
    count = len(calls)

    async def inner(n: int) -> int:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            _check(await pmap(calls), count)
        return time.perf_counter_ns() - t0

    return lambda n: trio.run(inner, n)


@contextmanager
def _trio(settings: Settings) -> Iterator[list[Case]]:
    trio = _env.optional("trio")
    if trio is None:
        yield [Case("Trio nursery", floor=True, na=_env.missing("trio"))]
        return
    count = 10_000

    async def tsleep(x: int) -> int:
        await trio.sleep(0)
        return x

    calls, is_sync = _mixed(count, tsleep)
    cases = [
        Case(
            "Trio nursery (hand-written)",
            _trio_floor(trio, calls, is_sync),
            per_op=count,
            floor=True,
            note="start_soon per call: trio.to_thread.run_sync or the coroutine",
        )
    ]
    pmap = _env.parallel_map()
    if pmap is None:
        cases.append(Case("await parallel_map(calls) (Trio)", na=NO_BATCH))
    else:
        cases.append(
            Case(
                "await parallel_map(calls) (Trio)",
                _trio_ours(trio, pmap, calls),
                per_op=count,
                synchronaut=True,
                probe=lambda: trio.run(async_probe, _one(pmap)),
            )
        )
    yield cases


SLEEP = 0.05


def _concurrent(limit_s: float) -> Target:
    """The batch took at most ``limit_s`` (its calls overlapped)."""

    def check(row: Any, rows: Any, stat: str) -> tuple[bool | None, str]:
        value = row.stat(stat)
        if value is None:
            return None, "n/a"
        return value <= limit_s * 1e9, f"{value / 1e6:.0f} ms per batch"

    return Target(f"batch <= {limit_s * 1000:.0f} ms", check)


@contextmanager
def _trio_concurrency(settings: Settings) -> Iterator[list[Case]]:
    trio = _env.optional("trio")
    if trio is None:
        yield [Case("Trio nursery", floor=True, na=_env.missing("trio"))]
        return

    def block(x: int) -> int:
        time.sleep(SLEEP)
        return x

    async def wait(x: int) -> int:
        await trio.sleep(SLEEP)
        return x

    # 30 coroutines and 10 blocking calls (Trio's thread limit is 40), 50 ms each:
    # 2 s one after the other, about 50 ms when they overlap.
    calls = [(block if i % 4 == 0 else wait, (i,), {}, None) for i in range(40)]
    is_sync = [i % 4 == 0 for i in range(40)]
    note = f"ns per batch of 40 calls sleeping {SLEEP * 1000:.0f} ms each (2 s if run serially)"
    cases = [
        Case(
            "Trio nursery, 40 x 50 ms sleeps",
            _trio_floor(trio, calls, is_sync),
            floor=True,
            note=note,
        )
    ]
    pmap = _env.parallel_map()
    if pmap is None:
        cases.append(Case("parallel_map, 40 x 50 ms sleeps (Trio)", na=NO_BATCH))
    else:
        cases.append(
            Case(
                "parallel_map, 40 x 50 ms sleeps (Trio)",
                _trio_ours(trio, pmap, calls),
                synchronaut=True,
                targets=[_concurrent(3 * SLEEP)],
            )
        )
    yield cases


GROUPS = [
    Group("batch-sync", "parallel_map: 1 000 sync calls from sync code", _sync),
    Group("batch-asyncio", "parallel_map: 10 000 mixed calls in asyncio", _asyncio),
    Group("batch-trio", "parallel_map: 10 000 mixed calls in Trio", _trio),
    Group(
        "batch-trio-concurrent", "parallel_map: Trio batches run concurrently", _trio_concurrency
    ),
]
