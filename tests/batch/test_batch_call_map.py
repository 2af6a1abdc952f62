"""call_map: every function with the same arguments; concurrent in async code only."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from batch_helpers import Countdown, Mode, forever, nap

from synchronaut_batch import call_map
from synchronaut_core import CallAnyTimeout


def sync_add(a: int, b: int) -> int:
    return a + b


async def async_add(a: int, b: int) -> int:
    await nap(0)
    return a + b


def sync_mul(a: int, b: int, *, scale: int = 1) -> int:
    return a * b * scale


class Boom(Exception):
    pass


def test_the_spec_quickstart_call_map_gives_9_9(mode: Mode) -> None:
    assert mode.call(lambda: call_map([sync_add, async_add], 4, 5)) == [9, 9]


def test_keyword_arguments_go_to_every_function(mode: Mode) -> None:
    results = mode.call(lambda: call_map([sync_mul, sync_mul], 2, 3, scale=10))

    assert results == [60, 60]


def test_in_sync_code_functions_run_one_after_another() -> None:
    log: list[str] = []
    active = threading.Lock()

    def step(name: str) -> str:
        assert active.acquire(blocking=False), "two calls overlapped"
        log.append(name)
        active.release()
        return name

    async def async_step(name: str) -> str:
        return step(name)

    results = call_map([step, async_step, step], "x")

    assert results == ["x", "x", "x"]
    assert log == ["x", "x", "x"]


def test_in_sync_code_it_returns_the_list_in_this_thread() -> None:
    here = threading.current_thread()

    def where() -> threading.Thread:
        return threading.current_thread()

    assert call_map([where, where]) == [here, here]


def test_in_async_code_functions_run_concurrently(run: Any) -> None:
    countdown = Countdown(3)

    async def meet(tag: str) -> str:
        await countdown.arrive()  # only returns once all three have started
        return tag

    async def main() -> list[Any]:
        return await call_map([meet, meet, meet], "t", timeout=5.0)

    assert run(main) == ["t", "t", "t"]


def test_a_timeout_applies_to_each_call(mode: Mode) -> None:
    with pytest.raises(CallAnyTimeout, match="Function forever timed out after 0.02s"):
        mode.call(lambda: call_map([forever, forever], timeout=0.02))


def test_the_first_failure_propagates(mode: Mode) -> None:
    def boom(*_: Any) -> None:
        raise Boom("call_map")

    with pytest.raises(Boom, match="call_map"):
        mode.call(lambda: call_map([sync_add, boom, async_add], 1, 2))


def test_no_functions_give_an_empty_list(mode: Mode) -> None:
    assert mode.call(lambda: call_map([], 1, 2)) == []
