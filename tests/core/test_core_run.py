"""run(main, *args) runs a coroutine function like asyncio.run, on uvloop when installed."""

from __future__ import annotations

import asyncio

import pytest

from synchronaut_core import run


def test_run_returns_the_value_on_uvloop() -> None:
    async def main(a: int, b: int) -> tuple[int, str]:
        return a + b, type(asyncio.get_running_loop()).__module__

    total, module = run(main, 2, 3)
    assert total == 5
    assert module.startswith("uvloop")


def test_run_cancels_leftover_tasks() -> None:
    cleaned: list[bool] = []

    async def leftover() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append(True)

    async def main() -> None:
        asyncio.get_running_loop().create_task(leftover())
        await asyncio.sleep(0)

    run(main)
    assert cleaned == [True]


def test_run_rejects_sync_functions_and_running_loops() -> None:
    with pytest.raises(TypeError, match="async function"):
        run(print)  # type: ignore[arg-type]

    async def inner() -> None:
        async def nothing() -> None:
            return None

        with pytest.raises(RuntimeError, match="running event loop"):
            run(nothing)

    asyncio.run(inner())
