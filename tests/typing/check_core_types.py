"""Typing checks for synchronaut-core, run by pyright in CI (not collected by pytest)."""

from __future__ import annotations

from typing import Literal

from typing_extensions import assert_type

from synchronaut_core import CallAnyTimeout, current_async_library, run


async def add(a: int, b: int) -> int:
    return a + b


def check() -> None:
    assert_type(run(add, 1, 2), int)
    assert_type(current_async_library(), Literal["asyncio", "trio"] | None)
    error = CallAnyTimeout("x", func_name="f", timeout=1.0)
    assert_type(error.timeout, float | None)
