"""Inside asyncio: async -> async, and async -> sync offloads to a worker thread.

Every case of a group runs on the same event loop, created with the loop type under
test (``uvloop.new_event_loop()`` by default), so the floor and synchronaut share the
loop type. The offload floor is ``loop.run_in_executor(None, f, x)`` on the loop's
default ``ThreadPoolExecutor``, warmed up by calibration (its workers already exist);
synchronaut uses its own pool of the same size (``min(32, CPUs + 4)``).

Offloads are measured from one task (each call a full round trip to a worker thread
and back), then as a burst: 100 tasks each making 50 offloads (wall time / 5 000).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import copy_context
from typing import Any

import _env
from _env import event_loop, run_timed
from _harness import (
    Case,
    Group,
    Settings,
    aprobe_callee,
    async_probe,
    at_most,
    probe_callee,
    unrolled_async,
)
from cases_sync import AWAIT_WRAPPER, wrapper

from synchronaut_core import call_any, call_async

ANYIO = "anyio to_thread.run_sync"
S2A = "asgiref sync_to_async"
S2A_FREE = "asgiref sync_to_async(thread_sensitive=False)"
OFFLOAD_TARGETS = [
    at_most(1.2),
    at_most(1.0, ANYIO, "<anyio"),
    at_most(1.0, S2A, "<s2a"),
    at_most(1.0, S2A_FREE, "<s2a(ts=F)"),
]

Maker = Callable[[Callable[..., Any]], Callable[[], Awaitable[Any]]]


def f(x: int) -> int:
    return x


async def af(x: int) -> int:
    return x


def _offload_ways(
    loop: asyncio.AbstractEventLoop, kind: str
) -> list[tuple[str, Any, dict[str, Any]]]:
    """(name, make(fn) -> zero-argument caller returning an awaitable, Case options)."""
    rie = loop.run_in_executor
    ways: list[tuple[str, Any, dict[str, Any]]] = [
        (f"loop.run_in_executor ({kind})", lambda fn: lambda: rie(None, fn, 1), {"floor": True}),
        (
            "run_in_executor + copy_context().run",
            lambda fn: lambda: rie(None, copy_context().run, fn, 1),
            {"note": "the floor with ContextVars passed in by hand"},
        ),
        ("asyncio.to_thread", lambda fn: lambda: asyncio.to_thread(fn, 1), {}),
        (
            "call_any(f, x)",
            lambda fn: lambda: call_any(fn, 1),
            {"synchronaut": True, "targets": OFFLOAD_TARGETS},
        ),
    ]
    deco = _env.decorator()
    if deco is None:
        ways.append(("@synchronaut f(x)", None, {"na": _env.NO_DECORATOR, "synchronaut": True}))
    else:
        ways.append(("@synchronaut f(x)", lambda fn: _bind(deco(fn)), {"synchronaut": True}))
    to_thread = _env.anyio_to_thread
    if to_thread is None:
        ways.append((ANYIO, None, {"na": _env.missing("anyio")}))
    else:
        ways.append((ANYIO, lambda fn: lambda: to_thread.run_sync(fn, 1), {}))
    if _env.asyncer is None:
        ways.append(("asyncer asyncify", None, {"na": _env.missing("asyncer")}))
    else:
        asyncify = _env.asyncer.asyncify
        ways.append(("asyncer asyncify", lambda fn: _bind(asyncify(fn)), {}))
    a = _env.asgiref_sync
    if a is None:
        ways.append((S2A_FREE, None, {"na": _env.missing("asgiref")}))
        ways.append((S2A, None, {"na": _env.missing("asgiref")}))
    else:
        ways.append((S2A_FREE, lambda fn: _bind(a.sync_to_async(fn, thread_sensitive=False)), {}))
        ways.append(
            (
                S2A,
                lambda fn: _bind(a.sync_to_async(fn)),
                {"note": "thread_sensitive=True (the default): one shared thread runs them all"},
            )
        )
    return ways


def _bind(wrapped: Callable[..., Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    return lambda: wrapped(1)


def _single_timer(loop: asyncio.AbstractEventLoop, make: Maker) -> Callable[[int], int]:
    call = make(f)

    async def inner(n: int) -> int:
        perf = time.perf_counter_ns
        t0 = perf()
        for _ in range(n):
            await call()
        return perf() - t0

    return run_timed(loop, inner)


def _burst_timer(
    loop: asyncio.AbstractEventLoop, make: Maker, tasks: int, each: int
) -> Callable[[int], int]:
    call = make(f)

    async def worker() -> None:
        for _ in range(each):
            await call()

    async def inner(n: int) -> int:
        perf = time.perf_counter_ns
        t0 = perf()
        for _ in range(n):
            await asyncio.gather(*[worker() for _ in range(tasks)])
        return perf() - t0

    return run_timed(loop, inner)


def _probe(loop: asyncio.AbstractEventLoop, make: Maker, callee: Any) -> Callable[[], str]:
    def probe() -> str:
        return loop.run_until_complete(async_probe(make(callee)))

    return probe


def _offload_cases(
    loop: asyncio.AbstractEventLoop,
    kind: str,
    burst: tuple[int, int] | None,
    only: set[str] | None = None,
    targets: bool = True,
) -> list[Case]:
    cases: list[Case] = []
    for name, make, options in _offload_ways(loop, kind):
        if only is not None and not (options.get("floor") or name in only):
            continue
        if not targets:
            options = {k: v for k, v in options.items() if k != "targets"}
        if make is None:
            cases.append(Case(name, **options))
            continue
        probe = _probe(loop, make, probe_callee)
        if burst is None:
            cases.append(Case(name, _single_timer(loop, make), probe=probe, **options))
        else:
            tasks, each = burst
            timer = _burst_timer(loop, make, tasks, each)
            cases.append(Case(name, timer, per_op=tasks * each, probe=probe, **options))
    return cases


def _await_cases(loop: asyncio.AbstractEventLoop, kind: str, targets: bool = True) -> list[Case]:
    ns: dict[str, Any] = {
        "af": af,
        "call_any": call_any,
        "call_async": call_async,
        "wrapper": wrapper,
    }
    deco = _env.decorator()
    cases = [
        Case(
            f"await af(x) ({kind})",
            run_timed(loop, unrolled_async("await af(1)", ns)),
            per_op=10,
            floor=True,
            ctx="shared",
        ),
        Case(
            AWAIT_WRAPPER,
            run_timed(loop, unrolled_async("await wrapper(af, 1)", ns)),
            per_op=10,
            ctx="shared",
        ),
        Case(
            "await call_any(af, x)",
            run_timed(loop, unrolled_async("await call_any(af, 1)", ns)),
            per_op=10,
            synchronaut=True,
            targets=[at_most(3)] if targets else [],
            pure_targets=[at_most(3.5)] if targets else [],  # issue 17
            probe=_probe(loop, lambda fn: lambda: call_any(fn), aprobe_callee),
        ),
        Case(
            "await call_async(af, x)",
            run_timed(loop, unrolled_async("await call_async(af, 1)", ns)),
            per_op=10,
            synchronaut=True,
            probe=_probe(loop, lambda fn: lambda: call_async(fn), aprobe_callee),
        ),
    ]
    if deco is None:
        cases.append(Case("await @synchronaut af(x)", na=_env.NO_DECORATOR, synchronaut=True))
    else:
        g = deco(af)
        cases.append(
            Case(
                "await @synchronaut af(x)",
                run_timed(loop, unrolled_async("await g(1)", {"g": g})),
                per_op=10,
                synchronaut=True,
                probe=_probe(loop, lambda fn: lambda: deco(fn)(), aprobe_callee),
            )
        )
    return cases


def _group(kind: str | None, build: Callable[..., list[Case]]) -> Callable[[Settings], Any]:
    @contextmanager
    def setup(settings: Settings) -> Iterator[list[Case]]:
        with ExitStack() as stack:
            loop = stack.enter_context(event_loop(kind or settings.loop))
            yield build(loop, kind or settings.loop, main=kind is None)

    return setup


def _awaits(loop: asyncio.AbstractEventLoop, kind: str, main: bool) -> list[Case]:
    return _await_cases(loop, kind, targets=main)


def _offload_one(loop: asyncio.AbstractEventLoop, kind: str, main: bool) -> list[Case]:
    if main:
        return _offload_cases(loop, kind, None)
    only = {"asyncio.to_thread", "call_any(f, x)", "@synchronaut f(x)"}
    return _offload_cases(loop, kind, None, only=only, targets=False)


def _offload_burst(loop: asyncio.AbstractEventLoop, kind: str, main: bool) -> list[Case]:
    return _offload_cases(loop, kind, (100, 50))


GROUPS = [
    Group("async-async", "async -> async (awaited in the task)", _group(None, _awaits)),
    Group("async-sync", "async -> sync offload, one task", _group(None, _offload_one)),
    Group(
        "async-sync-burst",
        "async -> sync offload, 100 tasks x 50 offloads",
        _group(None, _offload_burst),
    ),
]
# The same on a plain asyncio loop, when the main run is on uvloop (informational).
GROUPS_ASYNCIO = [
    Group(
        "async-async-asyncio",
        "async -> async, plain asyncio loop (informational)",
        _group("asyncio", _awaits),
        full_only=True,
    ),
    Group(
        "async-sync-asyncio",
        "async -> sync offload, plain asyncio loop (informational)",
        _group("asyncio", _offload_one),
        full_only=True,
    ),
]
