"""Inline mode: sync code run on the loop's own thread, in a greenlet, by the task.

``inline-inner``: one bridge call of an ``async def`` made from sync code that an
asyncio task runs. The floor is a hand-written greenlet trampoline (the sync code
switches to the task with the coroutine, the task awaits it and switches back): the
least any greenlet approach can cost. Against it: synchronaut's ``call_any(af, x)``
in code run by ``call_any(fn, inline=True)``; greenback's ``await_(af(x))`` in a task
with a portal; and today's thread path -- the sync code offloaded with
``call_any(fn)``, each ``call_any(af, x)`` in the worker going back to the caller's
loop (loop affinity) and waiting for it.

``inline-enter``: entering inline mode, ``await call_any(f, x, inline=True)`` of a
trivial ``def``; the floor is calling ``f(x)`` directly in the task, the comparison
rows greenback's ``with_portal_run_sync`` and the offload ``await call_any(f, x)``.

Both on the chosen asyncio loop (uvloop by default) and in Trio (``-trio`` groups;
each timed run is one ``trio.run``, the clock running inside it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import _env
from _env import event_loop, run_timed
from _harness import Case, Group, Settings, at_most, ns_at_most, unrolled_async
from cases_trio import _with_trio

from synchronaut_core import call_any

GREENBACK = "greenback await_(af(x))"
THREAD_PATH = "thread path: call_any(af, x) from offloaded code"


def f(x: int) -> int:
    return x


async def af(x: int) -> int:
    return x


#: Makes a timer from ``async def inner(n) -> ns``: run as a task of an asyncio loop,
#: or as the main task of one ``trio.run``.
Runner = Callable[[Callable[[int], Any]], Callable[[int], int]]


def _trampoline(run: Runner) -> Any:
    greenlet = _env.greenlet
    perf = time.perf_counter_ns

    async def inner(n: int) -> int:
        current = greenlet.getcurrent()

        def body() -> int:
            back = current.switch
            t0 = perf()
            for _ in range(n):
                back(af(1))
            return perf() - t0

        green = greenlet.greenlet(body, current)
        request = green.switch()
        while not green.dead:
            request = green.switch(await request)
        return request

    return run(inner)


def _in_sync_code(run: Runner, how: str) -> Any:
    """``n`` calls of ``call_any(af, 1)`` from sync code run inline, or offloaded."""
    perf = time.perf_counter_ns

    def body(n: int) -> int:
        t0 = perf()
        for _ in range(n):
            call_any(af, 1)
        return perf() - t0

    async def inline(n: int) -> int:
        return await call_any(body, n, inline=True)

    async def offloaded(n: int) -> int:
        return await call_any(body, n)

    return run(inline if how == "inline" else offloaded)


def _greenback(run: Runner) -> Any:
    greenback = _env.greenback
    perf = time.perf_counter_ns

    def body(n: int) -> int:
        await_ = greenback.await_
        t0 = perf()
        for _ in range(n):
            await_(af(1))
        return perf() - t0

    async def inner(n: int) -> int:
        await greenback.ensure_portal()
        return body(n)

    return run(inner)


def _inner_cases(run: Runner, kind: str) -> list[Case]:
    missing_greenlet = "" if _env.greenlet is not None else _env.missing("greenlet")
    cases = [
        Case(
            f"greenlet trampoline by hand ({kind})",
            _trampoline(run) if not missing_greenlet else None,
            floor=True,
            na=missing_greenlet,
        ),
        Case(
            "call_any(af, x) in inline code",
            _in_sync_code(run, "inline") if not missing_greenlet else None,
            synchronaut=True,
            # The targets are asyncio's (uvloop's); the Trio rows are informational.
            targets=[
                ns_at_most(1500, "<=1.5 us"),
                at_most(0.5, GREENBACK, ">=2x faster than greenback"),
            ]
            if kind != "Trio"
            else [],
            ctx="in+out",
            na=missing_greenlet,
        ),
    ]
    if _env.greenback is None:
        cases.append(Case(GREENBACK, na=_env.missing("greenback")))
    else:
        cases.append(Case(GREENBACK, _greenback(run), ctx="shared"))
    cases.append(
        Case(
            THREAD_PATH,
            _in_sync_code(run, "offloaded"),
            synchronaut=True,
            note="sync code in a worker thread; each call hops back to the caller's loop",
            ctx="in+out",
        )
    )
    return cases


def _enter_cases(run: Runner, kind: str) -> list[Case]:
    ns: dict[str, Any] = {"f": f, "call_any": call_any}
    missing_greenlet = "" if _env.greenlet is not None else _env.missing("greenlet")
    cases = [
        Case(
            f"f(x) called in the task ({kind})",
            run(unrolled_async("f(1)", ns)),
            per_op=10,
            floor=True,
            ctx="shared",
        ),
        Case(
            "await call_any(f, x, inline=True)",
            run(unrolled_async("await call_any(f, 1, inline=True)", ns))
            if not missing_greenlet
            else None,
            per_op=10,
            synchronaut=True,
            targets=[ns_at_most(5000, "<=5 us")] if kind != "Trio" else [],
            ctx="in+out",
            na=missing_greenlet,
        ),
    ]
    deco = _env.decorator()
    if deco is not None and not missing_greenlet:
        g = deco(inline=True)(f)
        cases.append(
            Case(
                "await @synchronaut(inline=True) f(x)",
                run(unrolled_async("await g(1)", {"g": g})),
                per_op=10,
                synchronaut=True,
                ctx="in+out",
            )
        )
    if _env.greenback is None:
        cases.append(Case("greenback with_portal_run_sync(f, x)", na=_env.missing("greenback")))
    else:
        ns["run_sync"] = _env.greenback.with_portal_run_sync
        cases.append(
            Case(
                "greenback with_portal_run_sync(f, x)",
                run(unrolled_async("await run_sync(f, 1)", ns)),
                per_op=10,
                ctx="shared",
            )
        )
    cases.append(
        Case(
            "await call_any(f, x) (offload)",
            run(unrolled_async("await call_any(f, 1)", ns)),
            per_op=10,
            synchronaut=True,
            ctx="in+out",
        )
    )
    return cases


def _group(build: Any) -> Any:
    @contextmanager
    def setup(settings: Settings) -> Iterator[list[Case]]:
        with ExitStack() as stack:
            loop = stack.enter_context(event_loop(settings.loop))
            yield build(lambda inner: run_timed(loop, inner), settings.loop)

    return setup


def _trio_group(build: Any) -> Any:
    # Each timed run is one trio.run (see cases_trio), the clock running inside it.
    return _with_trio(lambda trio: build(lambda inner: lambda n: trio.run(inner, n), "Trio"))


GROUPS = [
    Group(
        "inline-inner",
        "inline code -> async: one bridge call from sync code run by a task",
        _group(_inner_cases),
    ),
    Group(
        "inline-enter",
        "async -> sync inline: entering an inline call of a trivial def",
        _group(_enter_cases),
    ),
    Group(
        "inline-inner-trio",
        "Trio: inline code -> async, one bridge call (informational)",
        _trio_group(_inner_cases),
    ),
    Group(
        "inline-enter-trio",
        "Trio: entering an inline call of a trivial def (informational)",
        _trio_group(_enter_cases),
    ),
]
