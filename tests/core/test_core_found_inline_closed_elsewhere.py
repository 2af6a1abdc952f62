"""Found by review: an inline call closed outside its loop left that loop set as running.

An inline call waiting at a bridge call is ended, when its driver is closed (its task
dropped and collected, ``coro.close()``), by throwing GeneratorExit into the greenlet
-- with the thread made to look like sync code meanwhile: the running loop hidden and
then shown again. It showed the *call's* loop, wherever the close happened. The
garbage collector closes a dropped driver wherever it runs: after the loop stopped
(a Ctrl-C out of ``run_until_complete``, seen in a real-signal stress run: about one
round in ten left the thread "inside" a stopped loop, and the next ``asyncio.run``
failed with "Cannot run the event loop while another loop is running"), or while
another loop runs, whose place the old loop then took (``get_running_loop()`` in
that loop's task gave the other loop). Now the loop running where the close happens
(if any) is hidden and shown again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from synchronaut_core import call_any


def _loop_factories() -> list[Any]:
    factories: list[Any] = [pytest.param(asyncio.new_event_loop, id="asyncio")]
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is in the dev group
        return factories
    factories.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    return factories


def _waiting_inline_call(
    loop: asyncio.AbstractEventLoop, cleaned: list[str]
) -> Coroutine[Any, Any, Any]:
    """The driver of an inline call, stepped until its code waits at a bridge call."""

    def waits() -> None:
        try:
            call_any(asyncio.sleep, 10)
        finally:
            cleaned.append("finally")

    async def make() -> Coroutine[Any, Any, Any]:
        driver = call_any(waits, inline=True)
        driver.send(None)  # the inline code now waits in asyncio.sleep
        return driver

    return loop.run_until_complete(make())


@pytest.mark.parametrize("make_loop", _loop_factories())
def test_closed_outside_any_loop_it_leaves_no_running_loop(
    make_loop: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    loop = make_loop()
    cleaned: list[str] = []
    try:
        driver = _waiting_inline_call(loop, cleaned)
        driver.close()  # what collecting a dropped task does, after its loop stopped
        running = asyncio._get_running_loop()  # pyright: ignore[reportPrivateUsage]
        asyncio._set_running_loop(None)  # pyright: ignore[reportPrivateUsage]
        assert running is None
        assert cleaned == ["finally"]
        assert asyncio.run(asyncio.sleep(0, "fine")) == "fine"
    finally:
        loop.close()


@pytest.mark.parametrize("make_loop", _loop_factories())
def test_closed_inside_another_loop_that_loop_stays_the_running_one(
    make_loop: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    first, other = make_loop(), make_loop()
    cleaned: list[str] = []
    try:
        driver = _waiting_inline_call(first, cleaned)

        async def close_it() -> asyncio.AbstractEventLoop:
            driver.close()
            await asyncio.sleep(0)
            return asyncio.get_running_loop()

        assert other.run_until_complete(close_it()) is other
        assert cleaned == ["finally"]
        assert asyncio._get_running_loop() is None  # pyright: ignore[reportPrivateUsage]
    finally:
        first.close()
        other.close()
