"""How the driving task hides its loop from inline code, and switches into it.

While an inline greenlet runs, the thread is sync code: no running asyncio loop. The
pure path hides the loop with ``asyncio._set_running_loop(None)`` and shows it again
with ``_set_running_loop(loop)``; the C accelerator keeps asyncio's record of the
running loop on 3.10/3.11 and swaps the loop in it (``hide_running_loop`` /
``show_running_loop``), and does the whole switch-in -- hide, switch, show, blocking
guard -- in one call (``inline_switch``; ``_inline._switch_in_py`` is its
specification). Each is checked here against what asyncio itself then reports, the
same way for both paths: the loop hidden and shown, a loop that code run meanwhile set
and unset of its own (``asyncio.run`` in inline code), reference counts unchanged,
exceptions and the blocking report as Python's ``finally`` gives them.

And inline code is the code its greenlet runs (``_inline._running_inline``): a
greenlet that inline code starts itself is not (the driving task is not its parent:
switching to it from there would resume the wrong stack).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

import greenlet
import pytest

from synchronaut_core import _accelerator, _call, _inline, call_any, call_sync

_call._load_inline()  # pyright: ignore[reportPrivateUsage]

_speedups: Any = _accelerator._speedups  # pyright: ignore[reportPrivateUsage]

Impl = tuple[Callable[[Any], Any], Callable[[Any, Any], Any], Callable[..., Any]]

IMPLS: dict[str, Impl] = {
    "pure": (_inline._hide_loop_py, _inline._show_loop_py, _inline._switch_in_py),  # pyright: ignore[reportPrivateUsage]
}
if _speedups is not None:
    IMPLS["C"] = (
        _speedups.hide_running_loop,
        _speedups.show_running_loop,
        _speedups.inline_switch,
    )


@pytest.fixture(params=["pure", "C"])
def impl(request: pytest.FixtureRequest) -> Impl:
    if request.param not in IMPLS:
        pytest.skip("the C accelerator is not built (or disabled)")
    return IMPLS[request.param]


def _running() -> asyncio.AbstractEventLoop | None:
    return asyncio._get_running_loop()  # pyright: ignore[reportPrivateUsage]


def test_hidden_then_shown_is_what_asyncio_reports(impl: Impl) -> None:
    hide, show, _ = impl

    async def main() -> None:
        loop = asyncio.get_running_loop()
        before = sys.getrefcount(loop), sys.getrefcount(None)
        for _ in range(1000):
            token = hide(loop)
            assert _running() is None
            with pytest.raises(RuntimeError):
                asyncio.get_running_loop()
            show(token, loop)
            assert asyncio.get_running_loop() is loop
        del token
        after = sys.getrefcount(loop), sys.getrefcount(None)
        assert after[0] == before[0]
        # None is immortal on 3.12+; before, its count must not drift by a thousand.
        assert abs(after[1] - before[1]) < 50

    asyncio.run(main())


def test_a_loop_run_while_hidden_leaves_the_hidden_one_to_come_back(impl: Impl) -> None:
    hide, show, _ = impl
    seen: list[object] = []

    async def nested() -> None:
        seen.append(asyncio.get_running_loop())

    async def main() -> None:
        loop = asyncio.get_running_loop()
        token = hide(loop)
        try:
            # Sync code may run a loop of its own (inline code is sync code): asyncio
            # sets and unsets that one's record meanwhile.
            asyncio.run(nested())
            assert _running() is None
        finally:
            show(token, loop)
        assert asyncio.get_running_loop() is loop
        assert seen and seen[0] is not loop

    asyncio.run(main())


def test_show_without_a_token_sets_the_loop(impl: Impl) -> None:
    hide, show, _ = impl

    async def main() -> None:
        loop = asyncio.get_running_loop()
        hide(loop)
        show(None, loop)  # the hide's token lost (an interrupt): asyncio's call
        assert asyncio.get_running_loop() is loop

    asyncio.run(main())


class _Call:
    """Stands for an ``_Inline``: records the blocking reports."""

    def __init__(self, fail: bool = False) -> None:
        self.reports: list[float] = []
        self.fail = fail

    def report(self, elapsed: float) -> None:
        self.reports.append(elapsed)
        if self.fail:
            raise ValueError("the report failed")


def _green(body: Callable[[Any], Any]) -> Any:
    return greenlet.greenlet(body, greenlet.getcurrent())


def test_switch_in_gives_what_the_greenlet_hands_back_with_the_loop_hidden(impl: Impl) -> None:
    _, _, switch_in = impl

    async def main() -> None:
        loop = asyncio.get_running_loop()
        call = _Call()

        def body(arg: int) -> tuple[int, object]:
            return arg + 1, _running()

        value = switch_in(_green(body).switch, 41, loop, call, None)
        assert value == (42, None)
        assert asyncio.get_running_loop() is loop
        assert call.reports == []

    asyncio.run(main())


def test_switch_in_reports_a_long_stretch_and_only_then(impl: Impl) -> None:
    _, _, switch_in = impl

    async def main() -> None:
        loop = asyncio.get_running_loop()
        call = _Call()

        def slow(_: object) -> str:
            time.sleep(0.03)
            return "done"

        assert switch_in(_green(slow).switch, None, loop, call, 0.01) == "done"
        assert len(call.reports) == 1 and 0.03 <= call.reports[0] < 5
        assert switch_in(_green(slow).switch, None, loop, call, None) == "done"
        assert switch_in(_green(slow).switch, None, loop, call, 1.0) == "done"
        assert len(call.reports) == 1

    asyncio.run(main())


def test_switch_in_keeps_the_greenlets_exception_and_shows_the_loop(impl: Impl) -> None:
    _, _, switch_in = impl

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def fails(_: object) -> None:
            raise KeyError("inside")

        with pytest.raises(KeyError, match="inside"):
            switch_in(_green(fails).switch, None, loop, _Call(), None)
        assert asyncio.get_running_loop() is loop

    asyncio.run(main())


def test_a_failing_report_replaces_the_exception_as_a_finally_does(impl: Impl) -> None:
    _, _, switch_in = impl

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def slow_fail(_: object) -> None:
            time.sleep(0.02)
            raise KeyError("inside")

        def slow_ok(_: object) -> str:
            time.sleep(0.02)
            return "value"

        with pytest.raises(ValueError, match="the report failed") as info:
            switch_in(_green(slow_fail).switch, None, loop, _Call(fail=True), 0.001)
        assert isinstance(info.value.__context__, KeyError)
        with pytest.raises(ValueError, match="the report failed") as info:
            switch_in(_green(slow_ok).switch, None, loop, _Call(fail=True), 0.001)
        assert info.value.__context__ is None
        assert asyncio.get_running_loop() is loop

    asyncio.run(main())


def test_switch_in_refuses_a_bad_threshold_the_same_way(impl: Impl) -> None:
    _, _, switch_in = impl

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(TypeError):
            switch_in(_green(lambda _: 1).switch, None, loop, _Call(), "soon")

    asyncio.run(main())


async def _double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


@pytest.mark.parametrize("entry", ["C", "pure"])
def test_a_greenlet_that_inline_code_starts_is_not_inline_code(entry: str) -> None:
    bridge: Callable[..., Any] = call_any if entry == "C" else _call._call_any_py  # pyright: ignore[reportPrivateUsage]
    seen: list[object] = []

    def inside() -> int:
        # Not the inline greenlet (the driving task cannot resume it): its bridge calls
        # that would wait are refused (test_core_found_inline_child_greenlet), its
        # direct calls are direct calls.
        seen.append(_inline._running_inline())  # pyright: ignore[reportPrivateUsage]
        with pytest.raises(RuntimeError, match="started"):
            bridge(_double, 2)
        with pytest.raises(RuntimeError, match="started"):
            call_sync(_double, 3)
        return bridge(len, "abc")

    def body() -> tuple[object, int, int]:
        here = _inline._running_inline()  # pyright: ignore[reportPrivateUsage]
        started = greenlet.greenlet(inside).switch()
        return here, started, bridge(_double, 5)

    async def main() -> None:
        here, three, ten = await call_any(body, inline=True)
        assert here is not None and seen == [None]
        assert (three, ten) == (3, 10)
        assert _inline._running_inline() is None  # pyright: ignore[reportPrivateUsage]

    asyncio.run(main())
