"""Inside Trio: async -> sync offloads, and async -> async through ``call_any``.

The offload floor is ``trio.to_thread.run_sync`` (which synchronaut itself uses under
Trio when no executor is given). Each timed run is one ``trio.run``; the clock runs
inside it, so starting Trio is not counted. Trio's worker-thread cache lives across
runs, so the threads are warm after calibration.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import _env
from _harness import Case, Group, Settings, aprobe_callee, async_probe, probe_callee, unrolled_async
from cases_sync import AWAIT_WRAPPER, wrapper

from synchronaut_core import call_any


def f(x: int) -> int:
    return x


async def af(x: int) -> int:
    return x


def _trio_timer(trio: Any, inner: Callable[[int], Awaitable[int]]) -> Callable[[int], int]:
    def timer(n: int) -> int:
        return trio.run(inner, n)

    return timer


def _probe(trio: Any, make: Callable[[Any], Callable[[], Awaitable[Any]]], callee: Any) -> Any:
    def probe() -> str:
        return trio.run(async_probe, make(callee))

    return probe


def _offload_cases(trio: Any) -> list[Case]:
    to_thread = trio.to_thread.run_sync
    ways: list[tuple[str, Any, dict[str, Any]]] = [
        ("trio.to_thread.run_sync", lambda fn: lambda: to_thread(fn, 1), {"floor": True}),
        ("call_any(f, x)", lambda fn: lambda: call_any(fn, 1), {"synchronaut": True}),
    ]
    deco = _env.decorator()
    if deco is None:
        ways.append(("@synchronaut f(x)", None, {"na": _env.NO_DECORATOR, "synchronaut": True}))
    else:
        ways.append(("@synchronaut f(x)", lambda fn: _bind(deco(fn)), {"synchronaut": True}))
    if _env.anyio_to_thread is None:
        ways.append(("anyio to_thread.run_sync", None, {"na": _env.missing("anyio")}))
    else:
        anyio_run = _env.anyio_to_thread.run_sync
        ways.append(("anyio to_thread.run_sync", lambda fn: lambda: anyio_run(fn, 1), {}))
    if _env.asyncer is None:
        ways.append(("asyncer asyncify", None, {"na": _env.missing("asyncer")}))
    else:
        asyncify = _env.asyncer.asyncify
        ways.append(("asyncer asyncify", lambda fn: _bind(asyncify(fn)), {}))
    cases: list[Case] = []
    for name, make, options in ways:
        if make is None:
            cases.append(Case(name, **options))
            continue
        call = make(f)

        async def inner(n: int, call: Callable[[], Awaitable[Any]] = call) -> int:
            perf = time.perf_counter_ns
            t0 = perf()
            for _ in range(n):
                await call()
            return perf() - t0

        timer = _trio_timer(trio, inner)
        cases.append(Case(name, timer, probe=_probe(trio, make, probe_callee), **options))
    return cases


def _bind(wrapped: Callable[..., Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    return lambda: wrapped(1)


def _await_cases(trio: Any) -> list[Case]:
    ns: dict[str, Any] = {"af": af, "call_any": call_any, "wrapper": wrapper}
    cases = [
        Case(
            "await af(x) (Trio)",
            _trio_timer(trio, unrolled_async("await af(1)", ns)),
            per_op=10,
            floor=True,
            ctx="shared",
        ),
        Case(
            AWAIT_WRAPPER,
            _trio_timer(trio, unrolled_async("await wrapper(af, 1)", ns)),
            per_op=10,
            ctx="shared",
        ),
        Case(
            "await call_any(af, x)",
            _trio_timer(trio, unrolled_async("await call_any(af, 1)", ns)),
            per_op=10,
            synchronaut=True,
            probe=_probe(trio, lambda fn: lambda: call_any(fn), aprobe_callee),
        ),
    ]
    deco = _env.decorator()
    if deco is None:
        cases.append(Case("await @synchronaut af(x)", na=_env.NO_DECORATOR, synchronaut=True))
    else:
        g = deco(af)
        cases.append(
            Case(
                "await @synchronaut af(x)",
                _trio_timer(trio, unrolled_async("await g(1)", {"g": g})),
                per_op=10,
                synchronaut=True,
                probe=_probe(trio, lambda fn: lambda: deco(fn)(), aprobe_callee),
            )
        )
    return cases


def _with_trio(build: Callable[[Any], list[Case]]) -> Callable[[Settings], Any]:
    @contextmanager
    def setup(settings: Settings) -> Iterator[list[Case]]:
        trio = _env.optional("trio")
        if trio is None:
            yield [Case("Trio", floor=True, na=_env.missing("trio"))]
            return
        yield build(trio)

    return setup


GROUPS = [
    Group("trio-offload", "Trio: async -> sync offload, one task", _with_trio(_offload_cases)),
    Group("trio-async", "Trio: async -> async (informational)", _with_trio(_await_cases)),
]
